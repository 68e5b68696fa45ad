"""Load the config file: rule language version, defaults, rules and subscriptions.

``path`` is one YAML file or a directory of ``*.yaml``/``*.yml`` files merged in name
order (a rule or subscription id defined twice is an error). Every problem is collected
with its file, line/column, rule or subscription id and a one-line reason, then raised
together as :class:`~newsalert.rules.RuleFileError` (a :class:`~newsalert.errors.ConfigError`).

``${VAR}`` in subscriptions is expanded from the ``env`` mapping the caller passes (the
CLI passes ``os.environ``); this module never reads the process environment itself.
With ``subscriptions=False`` the ``subscriptions:`` sections are neither expanded nor
validated and the config has none: rules tooling (check, explain, dry-run backtests)
then runs on an analyst's machine without the production secrets.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from newsalert.config.incremental import MAX_CHANGED_SHARE, ItemMemory, RawRule
from newsalert.config.ruleitems import RuleItems, items_match, rules_key_at, split_rule_items
from newsalert.config.subscriptions import RawSubscription, validate_subscriptions
from newsalert.config.yamlmarks import Marks, load_with_marks
from newsalert.gcpause import paused_gc
from newsalert.rules.indexing.analysis import AnalysisCache
from newsalert.rules.language.caches import ParseCaches
from newsalert.rules.language.limits import MAX_FILE_BYTES, MAX_RULES_PER_FILE, shown
from newsalert.rules.language.model import Location, Rule
from newsalert.rules.language.parse import Defaults, RuleParser
from newsalert.rules.language.problems import Problem, RuleFileError
from newsalert.rules.ruleset import RuleSet
from newsalert.subscriptions import Subscription

SUPPORTED_VERSION = 1
#: Rule count from which a loaded config is frozen out of the cyclic GC (see load_config).
FREEZE_RULES = 10_000
TOP_KEYS = frozenset({"version", "defaults", "rules", "subscriptions"})


@dataclass(slots=True)
class _Document:
    """One parsed file: its document (``None`` when unreadable or invalid) and marks.

    ``items``, when set, are the raw rules of its ``rules:`` list, given item by item
    (``document`` is then the file without them: its ``rules`` is null).
    """

    file: str
    document: object
    marks: Marks
    items: list[RawRule] | None = None


@dataclass(frozen=True)
class Config:
    """A validated config: immutable rules, subscriptions, and where they came from."""

    rules: RuleSet
    subscriptions: tuple[Subscription, ...]
    source: Path
    version: int = SUPPORTED_VERSION
    defaults: Defaults = field(default_factory=Defaults)
    files: tuple[Path, ...] = ()

    def subscription(self, subscription_id: str) -> Subscription | None:
        """The subscription called ``subscription_id``, or ``None``."""
        return next((s for s in self.subscriptions if s.id == subscription_id), None)


def config_files(path: Path) -> list[Path]:
    """The YAML files ``path`` stands for (itself, or a directory's YAML files by name)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    return [path]


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, subscriptions: bool = True
) -> Config:
    """Load and validate the config at ``path``; raises ``RuleFileError`` listing all problems.

    ``subscriptions=False`` skips the subscriptions (see the module docstring).

    A big config (:data:`FREEZE_RULES` rules or more) is long-lived and holds no reference
    cycles, so its millions of objects are moved to the garbage collector's permanent
    generation (``gc.freeze()``) before the collector is re-enabled: otherwise the next
    collection scans them all for nothing (figures in docs/benchmarks.md). They are still
    freed by reference counting when the config is dropped.
    """
    with paused_gc():
        config = _load(Path(path), env, subscriptions)
        if len(config.rules) >= FREEZE_RULES:
            gc.freeze()
        return config


def _load(source: Path, env: Mapping[str, str] | None, subscriptions: bool) -> Config:
    problems: list[Problem] = []
    files = existing_config_files(source)
    documents: list[_Document] = []
    for file in files:
        text = read_config_file(file, problems)
        if text is None:
            continue
        documents.append(_Document(str(file), *parse_config_yaml(text, str(file), problems)))
    return _build(documents, source, tuple(files), env if subscriptions else None, problems)


@dataclass(frozen=True, slots=True)
class LoadReport:
    """How a :class:`ConfigLoader` load went (for logs, tests and benchmarks)."""

    #: Files parsed whole, and files whose unchanged rule items were reused.
    whole_files: int = 0
    itemised_files: int = 0
    #: Rule items parsed on their own (new or changed) in the itemised files.
    items_parsed: int = 0


class ConfigLoader:
    """Loads the config at ``path`` again and again, re-parsing only what changed.

    The first load parses everything, as :func:`load_config`. On a later load, a file
    whose ``rules:`` list is plain block YAML (see :mod:`newsalert.config.ruleitems`) is
    parsed without its rule items; every item whose text is unchanged since the last good
    load gets the same :class:`Rule` object back and only the other items are parsed, on
    their own but with their real positions. Whenever that does not apply (changed
    defaults, many changed items, a YAML error, an unusual shape) the file is parsed
    whole, so the config returned and the problems raised are those of
    :func:`load_config`. Loads through one loader run one at a time (a lock).
    """

    def __init__(
        self, path: str | Path, env: Mapping[str, str] | None = None, *, subscriptions: bool = True
    ) -> None:
        self.path = Path(path)
        self._env: Mapping[str, str] | None = (env or {}) if subscriptions else None
        self._memory: dict[str, ItemMemory] = {}
        # Parsed words, keywords, queries and rules of this loader's loads: a reload
        # that parses a file whole re-validates only the rules that changed.
        self._caches = ParseCaches()
        # The analyses of the rules of the last compile of a loaded rule set: a reload
        # hands the same rule objects back for unchanged rules, which keep theirs.
        self._analyses = AnalysisCache()
        self._lock = threading.Lock()
        #: How the last call of :meth:`load` went.
        self.report = LoadReport()

    def load(self) -> Config:
        """Load and validate the config; raises ``RuleFileError`` listing all problems."""
        with self._lock, paused_gc():
            config = self._load()
            if len(config.rules) >= FREEZE_RULES:
                gc.freeze()
            return config

    def _load(self) -> Config:
        files = existing_config_files(self.path)
        early: list[list[Problem]] = []  # per file, in file order: read and YAML problems
        documents: list[_Document] = []
        texts: list[str] = []
        cuts: list[RuleItems | None] = []
        for file in files:
            found: list[Problem] = []
            early.append(found)
            text = read_config_file(file, found)
            if text is None:
                continue
            cut = split_rule_items(text)
            memory = self._memory.get(str(file))
            document = None
            if cut and memory and memory.changed(cut) <= MAX_CHANGED_SHARE * len(cut.items):
                document = _skeleton(str(file), cut)
            if document is None:
                document = _Document(str(file), *parse_config_yaml(text, str(file), found))
            documents.append(document)
            texts.append(text)
            cuts.append(cut)
        problems: list[Problem] = []  # the new items' parsers report into it
        defaults = _defaults(documents, self._caches)
        itemised = items_parsed = 0
        for number, document in enumerate(documents):
            cut = cuts[number]
            if document.items is None or cut is None:
                continue
            memory = self._memory[document.file]
            items = (
                memory.resolve(cut, problems, self._caches) if memory.defaults == defaults else None
            )
            if items is None:  # parse it whole: the same problems, in the same order
                found = early[files.index(Path(document.file))]
                documents[number] = _Document(
                    document.file, *parse_config_yaml(texts[number], document.file, found)
                )
                continue
            document.items = items
            itemised += 1
            items_parsed += sum(1 for raw in items if not isinstance(raw, Rule))
        problems[:0] = [problem for found in early for problem in found]
        self.report = LoadReport(len(documents) - itemised, itemised, items_parsed)
        outcomes: list[list[Rule | None]] = []
        config = _build(
            documents,
            self.path,
            tuple(files),
            self._env,
            problems,
            outcomes,
            self._caches,
            self._analyses,
        )
        self._remember(documents, cuts, outcomes, defaults)
        return config

    def _remember(
        self,
        documents: list[_Document],
        cuts: list[RuleItems | None],
        outcomes: list[list[Rule | None]],
        defaults: Defaults,
    ) -> None:
        memory: dict[str, ItemMemory] = {}
        for document, cut, rules in zip(documents, cuts, outcomes, strict=True):
            if cut is None or len(rules) != len(cut.items):
                continue
            if document.items is None:  # parsed whole: is the cut the parser's items?
                value = document.document
                node = document.marks.node(value.get("rules")) if isinstance(value, dict) else None
                if node is None or not items_match(cut, node):
                    continue
            valid = [rule for rule in rules if rule is not None]
            if len(valid) == len(rules):
                memory[document.file] = ItemMemory(document.file, defaults, cut, valid)
        self._memory = memory


def _skeleton(file: str, cut: RuleItems) -> _Document | None:
    # The file without its rule items; None when that is not cleanly the case.
    problems: list[Problem] = []
    document, marks = parse_config_yaml(cut.skeleton(), file, problems)
    if problems or not isinstance(document, dict) or document.get("rules", False) is not None:
        return None
    if not rules_key_at(marks.node(document), cut.rules_line):
        return None
    return _Document(file, document, marks, [])


def read_config_file(file: Path, problems: list[Problem]) -> str | None:
    """The text of one config file, or ``None`` with the problem appended to ``problems``.

    A file over ``MAX_FILE_BYTES`` is refused from its size, before it is read: what a
    file may cost is bounded before the work is done (see newsalert.rules.language.limits).
    """
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            reason = f"{size:,} bytes, more than the limit ({MAX_FILE_BYTES:,})"
            problems.append(Problem(Location(str(file)), reason))
            return None
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(Location(str(file)), f"cannot read: {exc}"))
        return None


def existing_config_files(source: Path) -> list[Path]:
    """The YAML files of the config at ``source``; ``RuleFileError`` when there are none.

    Unlike :func:`config_files`, a missing path or a directory without YAML files is a
    problem with the path as its location.
    """
    if not source.exists():
        raise RuleFileError([Problem(Location(str(source)), "no such file or directory")])
    files = config_files(source)
    if not files:
        raise RuleFileError([Problem(Location(str(source)), "no *.yaml or *.yml file here")])
    return files


def parse_config_text(
    text: str, env: Mapping[str, str] | None = None, *, source: str = "<string>"
) -> Config:
    """Validate config YAML given as text (tests, the API's "try these rules")."""
    problems: list[Problem] = []
    document, marks = parse_config_yaml(text, source, problems)
    return _build([_Document(source, document, marks)], Path(source), (), env or {}, problems)


def parse_config_yaml(text: str, file: str, problems: list[Problem]) -> tuple[object, Marks]:
    """One config file's YAML document and its marks (line/column of every node).

    Invalid YAML and repeated mapping keys are appended to ``problems`` (located in
    ``file``); the document is then ``None`` (invalid) or still returned (repeated keys).
    """
    try:
        document, marks = load_with_marks(text)
    except yaml.YAMLError as exc:  # limits (depth, aliases) included: see yamlmarks
        mark = getattr(exc, "problem_mark", None)
        reason = str(getattr(exc, "problem", None) or exc).strip()
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problems.append(Problem(Location(file, line, column), f"invalid YAML: {reason}"))
        return None, Marks.unknown()
    for key, line, column in marks.repeated_keys(document):
        problems.append(Problem(Location(file, line, column), f"duplicate key {shown(key)}"))
    return document, marks


def _build(
    documents: list[_Document],
    source: Path,
    files: tuple[Path, ...],
    env: Mapping[str, str] | None,
    problems: list[Problem],
    outcomes: list[list[Rule | None]] | None = None,
    caches: ParseCaches | None = None,
    analyses: AnalysisCache | None = None,
) -> Config:
    # env None: subscriptions are skipped. outcomes: filled with one list per document,
    # the rule (or None) of each raw rule. caches: the loader's parse memo (or a fresh one).
    caches = ParseCaches() if caches is None else caches
    version = SUPPORTED_VERSION
    defaults = Defaults()
    raw_rules: list[tuple[int, RawRule]] = []
    raw_subs: list[RawSubscription] = []
    for number, entry in enumerate(documents):
        file, document, marks = entry.file, entry.document, entry.marks
        if document is None:
            continue
        parser = mapping_parser(file, document, marks, problems, caches)
        if parser is None or not isinstance(document, dict):
            continue
        version = declared_version(parser, document, version)
        if "defaults" in document:
            defaults = parser.defaults(document["defaults"], document, defaults)
        if entry.items is not None:
            if _too_many_rules(parser, document, len(entry.items)):
                continue
            raw_rules.extend((number, raw) for raw in entry.items)
        for key in ("rules", "subscriptions"):
            value = document.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                parser.problem(document, key, f"{key} must be a list", None)
                continue
            if key == "rules" and _too_many_rules(parser, document, len(value)):
                continue
            for index in range(len(value)):
                if key == "rules":
                    raw_rules.append((number, (parser, value, index, index + 1)))
                else:
                    raw_subs.append((file, marks, value, index))
    rules: dict[str, Rule] = {}
    declared: set[str] = set()
    results: list[list[Rule | None]] = [[] for _ in documents]
    for number, raw in raw_rules:
        if type(raw) is Rule and raw.id not in declared:  # reused as is: the common case
            declared.add(raw.id)
            rule: Rule | None = raw
        else:
            rule = _rule(raw, defaults, declared, problems)
        results[number].append(rule)
        if rule is not None:
            rules[rule.id] = rule
    if outcomes is not None:
        outcomes.extend(results)
    subscriptions = () if env is None else validate_subscriptions(raw_subs, env, declared, problems)
    if problems:
        raise RuleFileError(problems)
    return Config(
        rules=RuleSet(rules.values(), analyses=analyses),
        subscriptions=subscriptions,
        source=source,
        version=version,
        defaults=defaults,
        files=files,
    )


def _too_many_rules(parser: RuleParser, document: dict[str, object], count: int) -> bool:
    if count <= MAX_RULES_PER_FILE:
        return False
    reason = f"{count:,} rules, more than the limit per file ({MAX_RULES_PER_FILE:,})"
    parser.problem(document, "rules", reason, None)
    return True


def _rule(
    raw: RawRule, defaults: Defaults, declared: set[str], problems: list[Problem]
) -> Rule | None:
    # A rule id declared twice is reported at the second, which is not parsed further.
    if isinstance(raw, Rule):
        if raw.id in declared:
            problems.append(
                Problem(raw.location or Location("<rules>"), "duplicate rule id", raw.id)
            )
            return None
        declared.add(raw.id)
        return raw
    parser, container, index, number = raw
    item = container[index]
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        rule_id = item["id"]
        if rule_id in declared:
            parser.problem(item, "id", "duplicate rule id", rule_id)
            return None
        declared.add(rule_id)
    return parser.rule(item, container, index, defaults, number)


def _defaults(documents: list[_Document], caches: ParseCaches) -> Defaults:
    """The merged defaults of ``documents`` (their problems are reported by ``_build``)."""
    defaults = Defaults()
    for entry in documents:
        document = entry.document
        if isinstance(document, dict) and "defaults" in document:
            parser = RuleParser(entry.file, [], entry.marks, caches)
            defaults = parser.defaults(document["defaults"], document, defaults)
    return defaults


def mapping_parser(
    file: str,
    document: object,
    marks: Marks | None,
    problems: list[Problem],
    caches: ParseCaches | None = None,
) -> RuleParser | None:
    """A parser for one config file whose document is a mapping, its unknown top-level
    keys already reported; None (and a problem) when the document is no mapping."""
    if not isinstance(document, dict):
        problems.append(Problem(Location(file, 1, 1), "the config must be a YAML mapping"))
        return None
    parser = RuleParser(file, problems, marks, caches)
    for key in document:
        if key not in TOP_KEYS:
            parser.problem(document, key, f"unknown top-level key {shown(key)}", None)
    return parser


def declared_version(parser: RuleParser, document: dict[object, object], current: int) -> int:
    """The rule-language ``version`` a file declares (``current`` when it declares none).

    Only :data:`SUPPORTED_VERSION` is accepted (``true`` is not ``1``); any file of a
    directory may leave it out.
    """
    if "version" not in document:
        return current
    value = document["version"]
    if type(value) is not int or value != SUPPORTED_VERSION:
        reason = f"unsupported version {shown(value)} (supported: {SUPPORTED_VERSION})"
        parser.problem(document, "version", reason, None)
        return current
    return value
