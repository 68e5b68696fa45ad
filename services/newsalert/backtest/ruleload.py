"""Load a rule file for a backtest, even when its subscriptions cannot be resolved.

A dry run needs only the rules: a config whose subscriptions name ``${VARS}`` that are
not set here (the webhook secrets of production) must still be testable. When loading
the full config fails and only subscriptions are at fault, the rules are loaded from a
copy of the file(s) without their ``subscriptions`` section. ``--deliver`` needs the
subscriptions, so it always loads the full config.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

import yaml

from newsalert.config import Config, config_files, load_config
from newsalert.rules import RuleFileError


def _subscription_problem(reason: str, item: str | None, subscription_ids: set[str]) -> bool:
    return "environment variable" in reason or (item is not None and item in subscription_ids)


def _subscription_ids(path: Path) -> set[str]:
    ids: set[str] = set()
    for file in config_files(path):
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(document, dict):
            for item in document.get("subscriptions") or ():
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    ids.add(item["id"])
    return ids


def load_backtest_config(path: Path, env: Mapping[str, str], *, need_subscriptions: bool) -> Config:
    """The config at ``path``; without ``need_subscriptions``, broken subscriptions are dropped."""
    try:
        return load_config(path, env=env)
    except RuleFileError as error:
        if need_subscriptions:
            raise
        ids = _subscription_ids(path)
        if not all(_subscription_problem(p.reason, p.item, ids) for p in error.problems):
            raise
        return _rules_only(path, env)


def _rules_only(path: Path, env: Mapping[str, str]) -> Config:
    with tempfile.TemporaryDirectory(prefix="newsalert-backtest-") as scratch:
        folder = Path(scratch)
        for number, file in enumerate(config_files(path)):
            document = yaml.safe_load(file.read_text(encoding="utf-8"))
            if isinstance(document, dict):
                document.pop("subscriptions", None)
            # Numbered names keep the original file order of a config directory.
            copy = folder / f"{number:04d}-{file.name}"
            copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        config = load_config(folder, env=env)
    return Config(
        rules=config.rules,
        subscriptions=(),
        source=path,
        version=config.version,
        defaults=config.defaults,
        files=tuple(config_files(path)),
    )
