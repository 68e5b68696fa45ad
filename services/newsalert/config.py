"""Load the config file: rule language version, defaults, rules and subscriptions.

``path`` is one YAML file or a directory of ``*.yaml``/``*.yml`` files merged in name
order (a rule or subscription id defined twice is an error). Every problem is collected
with its file, line/column, rule or subscription id and a one-line reason, then raised
together as :class:`~newsalert.rules.RuleFileError` (a :class:`~newsalert.errors.ConfigError`).

``${VAR}`` in subscriptions is expanded from the ``env`` mapping the caller passes (the
CLI passes ``os.environ``); this module never reads the process environment itself.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from newsalert.rules.gcpause import paused_gc
from newsalert.rules.model import Location, Rule
from newsalert.rules.parse import Defaults, RuleParser
from newsalert.rules.problems import Problem, RuleFileError
from newsalert.rules.ruleset import RuleSet
from newsalert.rules.yamlmarks import Marks, load_with_marks
from newsalert.subscriptions import Subscription

SUPPORTED_VERSION = 1
#: Rule count from which a loaded config is frozen out of the cyclic GC (see load_config).
FREEZE_RULES = 10_000
TOP_KEYS = frozenset({"version", "defaults", "rules", "subscriptions"})
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# (file, parsed document or None when unreadable/invalid, where its parts were written)
_Document = tuple[str, object, Marks]


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


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate the config at ``path``; raises ``RuleFileError`` listing all problems.

    A big config (:data:`FREEZE_RULES` rules or more) is long-lived and holds no reference
    cycles, so its millions of objects are moved to the garbage collector's permanent
    generation (``gc.freeze()``) before the collector is re-enabled: otherwise the next
    collection scans them all (about 1.5 s for 100,000 rules) for nothing. They are still
    freed by reference counting when the config is dropped.
    """
    with paused_gc():
        config = _load(Path(path), env)
        if len(config.rules) >= FREEZE_RULES:
            gc.freeze()
        return config


def _load(source: Path, env: Mapping[str, str] | None) -> Config:
    problems: list[Problem] = []
    if not source.exists():
        raise RuleFileError([Problem(Location(str(source)), "no such file or directory")])
    files = config_files(source)
    if not files:
        raise RuleFileError([Problem(Location(str(source)), "no *.yaml or *.yml file here")])
    documents: list[_Document] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(Location(str(file)), f"cannot read: {exc}"))
            continue
        documents.append((str(file), *_parse_yaml(text, str(file), problems)))
    return _build(documents, source, tuple(files), env or {}, problems)


def parse_config_text(
    text: str, env: Mapping[str, str] | None = None, *, source: str = "<string>"
) -> Config:
    """Validate config YAML given as text (tests, the API's "try these rules")."""
    problems: list[Problem] = []
    document, marks = _parse_yaml(text, source, problems)
    return _build([(source, document, marks)], Path(source), (), env or {}, problems)


def _parse_yaml(text: str, file: str, problems: list[Problem]) -> tuple[object, Marks]:
    try:
        document, marks = load_with_marks(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = str(getattr(exc, "problem", None) or exc).strip()
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problems.append(Problem(Location(file, line, column), f"invalid YAML: {reason}"))
        return None, Marks.unknown()
    for key, line, column in marks.repeated_keys(document):
        problems.append(Problem(Location(file, line, column), f"duplicate key {key!r}"))
    return document, marks


def _build(
    documents: list[_Document],
    source: Path,
    files: tuple[Path, ...],
    env: Mapping[str, str],
    problems: list[Problem],
) -> Config:
    version = SUPPORTED_VERSION
    defaults = Defaults()
    raw_rules: list[tuple[RuleParser, Any, int]] = []
    raw_subs: list[tuple[str, Marks, Any, int]] = []
    for file, document, marks in documents:
        if document is None:
            continue
        parser = RuleParser(file, problems, marks)
        if not isinstance(document, dict):
            problems.append(Problem(Location(file, 1, 1), "the config must be a YAML mapping"))
            continue
        for key in document:
            if key not in TOP_KEYS:
                parser.problem(document, key, f"unknown top-level key {key!r}", None)
        if "version" in document and document["version"] != SUPPORTED_VERSION:
            parser.problem(
                document,
                "version",
                f"unsupported version {document['version']!r} (supported: {SUPPORTED_VERSION})",
                None,
            )
        if "defaults" in document:
            defaults = _merge_defaults(defaults, parser.defaults(document["defaults"], document))
        for key in ("rules", "subscriptions"):
            value = document.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                parser.problem(document, key, f"{key} must be a list", None)
                continue
            for index in range(len(value)):
                if key == "rules":
                    raw_rules.append((parser, value, index))
                else:
                    raw_subs.append((file, marks, value, index))
    rules: dict[str, Rule] = {}
    declared: set[str] = set()
    for parser, container, index in raw_rules:
        item = container[index]
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            rule_id = item["id"]
            if rule_id in declared:
                parser.problem(item, "id", "duplicate rule id", rule_id)
                continue
            declared.add(rule_id)
        rule = parser.rule(item, container, index, defaults)
        if rule is not None:
            rules[rule.id] = rule
    subscriptions = _subscriptions(raw_subs, env, declared, problems)
    if problems:
        raise RuleFileError(problems)
    return Config(
        rules=RuleSet(rules.values()),
        subscriptions=subscriptions,
        source=source,
        version=version,
        defaults=defaults,
        files=files,
    )


def _merge_defaults(current: Defaults, new: Defaults) -> Defaults:
    # Files of a directory may each set defaults; the later file wins key by key only
    # where it differs from the built-in default.
    base = Defaults()
    return Defaults(
        window=new.window if new.window != base.window else current.window,
        fields=new.fields if new.fields != base.fields else current.fields,
    )


def _expand(value: Any, env: Mapping[str, str], missing: list[str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                missing.append(name)
                return match.group(0)
            return env[name]

        return _VAR.sub(replace, value)
    if isinstance(value, list):
        return [_expand(v, env, missing) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, env, missing) for k, v in value.items()}
    return value


def _subscriptions(
    raw: list[tuple[str, Marks, Any, int]],
    env: Mapping[str, str],
    rule_ids: set[str],
    problems: list[Problem],
) -> tuple[Subscription, ...]:
    result: list[Subscription] = []
    seen: set[str] = set()
    for file, marks, container, index in raw:
        item = container[index]
        mark_of = marks.of
        line, column = mark_of(container, index)
        where = Location(file, line, column)
        if not isinstance(item, dict):
            problems.append(Problem(where, f"subscription #{index + 1} must be a mapping"))
            continue
        name = item.get("id") if isinstance(item.get("id"), str) else f"subscription #{index + 1}"
        expanded: dict[Any, Any] = {}
        unset = False
        for key, value in item.items():
            missing: list[str] = []
            expanded[key] = _expand(value, env, missing)
            for var in dict.fromkeys(missing):
                at = Location(file, *mark_of(item, key))
                problems.append(Problem(at, f"{key}: environment variable {var} is not set", name))
                unset = True
        if unset:
            continue
        try:
            subscription = Subscription.model_validate(expanded)
        except ValidationError as exc:
            for error in exc.errors():
                key = error["loc"][0] if error["loc"] else None
                at = Location(file, *mark_of(item, key)) if key is not None else where
                field_name = ".".join(str(part) for part in error["loc"]) or "subscription"
                problems.append(Problem(at, f"{field_name}: {error['msg']}", name))
            continue
        if subscription.id in seen:
            problems.append(Problem(where, "duplicate subscription id", subscription.id))
            continue
        seen.add(subscription.id)
        for selector in subscription.rules:
            if selector != "*" and not selector.startswith("tag:") and selector not in rule_ids:
                at = Location(file, *mark_of(item, "rules"))
                problems.append(Problem(at, f"unknown rule id {selector!r}", subscription.id))
        result.append(subscription)
    return tuple(result)
