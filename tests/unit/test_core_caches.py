"""The pure core keeps no process-wide cache: every cache has an owner (docs/architecture.md).

A cache at module level (or on a class) lives as long as the process and is shared by
every caller, so a result's cost, and with an ``id()`` key even the result, depends on
what ran before, and tests cannot start from a clean state. In the core (the modules
the import-linter "pure core" contract names in ``pyproject.toml``) a cache therefore
belongs to an object whose lifetime is clear (a config loader's parse caches, an article
pipeline, fingerprint parameters). This test reads the source and fails on:

* ``functools.cache`` / ``functools.lru_cache`` on a function or method that takes
  parameters (a zero-parameter one is a lazily built constant: it holds no history);
* a module-level or class-level name bound to a mutable container that the module then
  changes (``NAME[k] = v``, ``NAME.update(...)``, ``del NAME[k]`` ...);
* a module-level or class-level instance of a class that exists to cache
  (:class:`~newsalert.sizedcache.SizedCache`, a PyStemmer stemmer, weak-value dicts ...),
  changed or not.

Constant containers that are never changed (lookup tables, shared empty results) pass.
"""

from __future__ import annotations

import ast
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "services"

_CACHE_DECORATORS = frozenset({"cache", "lru_cache"})
_CONTAINER_CALLS = frozenset(
    {"dict", "list", "set", "bytearray", "defaultdict", "OrderedDict", "Counter", "deque"}
)
# Classes whose instances exist to remember results (PyStemmer's stemmer keeps its own
# cache of stems).
_CACHE_CLASSES = frozenset(
    {"SizedCache", "CachePool", "Stemmer", "WeakValueDictionary", "WeakKeyDictionary"}
)
_MUTATORS = frozenset(
    {
        "add",
        "append",
        "appendleft",
        "clear",
        "discard",
        "extend",
        "insert",
        "pop",
        "popitem",
        "put",
        "remove",
        "setdefault",
        "update",
    }
)


def core_modules() -> list[str]:
    """The modules of the pure-core contract (packages expanded), as dotted names."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (core,) = [c for c in contracts if c["id"] == "pure-core"]
    names: list[str] = []
    for module in core["source_modules"]:
        path = SOURCE.joinpath(*module.split("."))
        if path.is_dir():
            for file in sorted(path.rglob("*.py")):
                parts = file.relative_to(SOURCE).with_suffix("").parts
                names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        else:
            names.append(module)
    return names


def _module_path(module: str) -> Path:
    path = SOURCE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _called_name(node: ast.expr) -> str | None:
    """``f`` for ``f``, ``m.f``, ``f(...)`` and ``m.f(...)``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _has_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    args = function.args
    return bool(args.posonlyargs or args.args or args.vararg or args.kwonlyargs or args.kwarg)


def _container_kind(value: ast.expr | None) -> str | None:
    """``"cache"`` for an instance of a caching class, ``"container"`` for another
    mutable container, else ``None``."""
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return "container"
    if isinstance(value, ast.Call):
        name = _called_name(value)
        if name in _CACHE_CLASSES:
            return "cache"
        if name in _CONTAINER_CALLS:
            return "container"
    return None


def _bindings(body: list[ast.stmt]) -> Iterator[tuple[str, ast.expr | None, int]]:
    """(name, value, line) of each plain-name assignment directly in ``body``."""
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    yield target.id, statement.value, statement.lineno
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement.target.id, statement.value, statement.lineno


def _owner_name(node: ast.expr, owners: frozenset[str]) -> str | None:
    """The shared name ``node`` refers to: ``NAME``, or ``X.NAME`` for a class attribute
    (``X`` being the class, ``cls`` or ``self``)."""
    if isinstance(node, ast.Name):
        return node.id
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in owners
    ):
        return node.attr
    return None


def _mutated_names(tree: ast.Module, owners: frozenset[str]) -> set[str]:
    """Names (or class attributes) the module changes in place anywhere."""
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript):
                name = _owner_name(target.value, owners)
                if name is not None:
                    found.add(name)
        if isinstance(node, ast.AugAssign):
            name = _owner_name(node.target, owners)
            if name is not None:
                found.add(name)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _MUTATORS
        ):
            name = _owner_name(node.func.value, owners)
            if name is not None:
                found.add(name)
    return found


def process_wide_caches(source: str, where: str = "<source>") -> list[str]:
    """Every process-wide cache in ``source``, one line each (empty: none)."""
    tree = ast.parse(source)
    problems: list[str] = []
    classes = [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
    owners = frozenset({"cls", "self", *(c.name for c in classes)})
    mutated = _mutated_names(tree, owners)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _has_parameters(node):
            for decorator in node.decorator_list:
                if _called_name(decorator) in _CACHE_DECORATORS:
                    problems.append(
                        f"{where}:{node.lineno}: {node.name}() takes parameters and is "
                        "memoised by functools: give the cache an owner"
                    )
    scopes: list[tuple[str, list[ast.stmt]]] = [("module", tree.body)]
    scopes += [(f"class {c.name}", c.body) for c in classes]
    for scope, body in scopes:
        for name, value, line in _bindings(body):
            kind = _container_kind(value)
            if kind == "cache" or (kind == "container" and name in mutated):
                problems.append(
                    f"{where}:{line}: {name} is a {scope}-level cache: give it an owner"
                )
    return problems


@pytest.mark.parametrize("module", core_modules())
def test_the_core_keeps_no_process_wide_cache(module: str) -> None:
    path = _module_path(module)
    where = str(path.relative_to(REPO))
    assert process_wide_caches(path.read_text(encoding="utf-8"), where) == []


def test_the_core_is_found() -> None:
    modules = core_modules()
    for expected in ("newsalert.text", "newsalert.rules.language.keywords", "newsalert.analysed"):
        assert expected in modules
    assert all(_module_path(module).is_file() for module in modules)


FLAGGED = {
    "memoised function": """
        import functools
        @functools.lru_cache(maxsize=4096)
        def starts(char): ...
    """,
    "bare cache decorator": """
        from functools import cache
        @cache
        def order(bins): ...
    """,
    "memoised method": """
        import functools
        class A:
            @functools.cache
            def value(self): ...
    """,
    "cache class at module level": """
        from newsalert.sizedcache import SizedCache
        _stems: SizedCache[str, str] = SizedCache(1024)
    """,
    "stemmer at module level": """
        import Stemmer
        _stemmer = Stemmer.Stemmer("english")
    """,
    "dict filled by a function": """
        _seen = {}
        def remember(key, value):
            _seen[key] = value
    """,
    "set added to": """
        _ids: set[int] = set()
        def note(x):
            _ids.add(x)
    """,
    "class-level dict filled through cls": """
        class Parser:
            _memo: dict[str, int] = {}
            @classmethod
            def parse(cls, text):
                return cls._memo.setdefault(text, len(text))
    """,
}

ALLOWED = {
    "lazy constant": """
        import functools
        @functools.lru_cache(maxsize=1)
        def patterns(): ...
    """,
    "constant lookup table": """
        UNITS = {"s": 1, "m": 60}
        def seconds(unit):
            return UNITS[unit]
    """,
    "per-instance cache": """
        class Owner:
            def __init__(self):
                self._cache = {}
            def get(self, key):
                return self._cache.setdefault(key, key)
    """,
    "local dict": """
        def render(rows):
            seen = {}
            for row in rows:
                seen[row] = 1
            return seen
    """,
}


@pytest.mark.parametrize("source", FLAGGED.values(), ids=FLAGGED.keys())
def test_the_check_finds_a_process_wide_cache(source: str) -> None:
    assert len(process_wide_caches(textwrap.dedent(source))) == 1


@pytest.mark.parametrize("source", ALLOWED.values(), ids=ALLOWED.keys())
def test_the_check_leaves_owned_caches_and_constants_alone(source: str) -> None:
    assert process_wide_caches(textwrap.dedent(source)) == []
