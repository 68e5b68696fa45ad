"""Load a config for a backtest: its subscriptions only when alerts are delivered.

A dry run needs only the rules: a config whose subscriptions name ``${VARS}`` that are
not set here (the webhook secrets of production) must still be testable, so its
subscriptions are skipped, not validated. The rules are loaded from the files themselves,
so every rule keeps its file, line and column. ``--deliver`` needs the subscriptions,
so it loads and validates them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from newsalert.config import Config, load_config


def load_backtest_config(path: Path, env: Mapping[str, str], *, need_subscriptions: bool) -> Config:
    """The config at ``path``; without ``need_subscriptions`` it has no subscriptions."""
    return load_config(path, env=env, subscriptions=need_subscriptions)
