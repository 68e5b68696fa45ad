"""The config file: reading, positions, validation, incremental reload and watching.

``loader`` (``load_config``, ``ConfigLoader``: rules and subscriptions with every problem
located), ``subscriptions`` (the ``subscriptions:`` section), ``subscriptions_only`` (the
dispatcher's load, no rule parsed), ``watch`` (reload on a content change), ``schema``
(the editors' JSON Schema), ``yamlmarks``/``ruleitems``/``incremental`` (positions, items).
"""

from newsalert.config.loader import Config, ConfigLoader, LoadReport, load_config, parse_config_text
from newsalert.config.subscriptions_only import load_subscriptions
from newsalert.config.watch import ConfigWatcher

__all__ = [
    "Config",
    "ConfigLoader",
    "ConfigWatcher",
    "LoadReport",
    "load_config",
    "load_subscriptions",
    "parse_config_text",
]
