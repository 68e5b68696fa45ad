"""The ``subscriptions:`` of a config file: ``${VAR}`` expansion and validation.

Each problem is recorded with its file, line/column and subscription id, like the
problems of rules (:mod:`newsalert.config` raises them together). A webhook URL must also
be one the sender can POST to (:func:`~newsalert.webhooks.endpoint.check_endpoint_url`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from newsalert.config.yamlmarks import Marks
from newsalert.rules.language.model import Location
from newsalert.rules.language.problems import Problem
from newsalert.subscriptions import Subscription
from newsalert.webhooks.endpoint import EndpointURLError, check_endpoint_url

#: (file, where its parts were written, the subscriptions list, index in it)
RawSubscription = tuple[str, Marks, Any, int]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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


def validate_subscriptions(
    raw: list[RawSubscription],
    env: Mapping[str, str],
    rule_ids: set[str],
    problems: list[Problem],
) -> tuple[Subscription, ...]:
    """The valid subscriptions of ``raw``; each problem is appended to ``problems``.

    ``${VAR}`` is expanded from ``env``; a rule selector must name one of ``rule_ids``
    (or be ``*`` or ``tag:...``).
    """
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
                reason = error["msg"].removeprefix("Value error, ")
                problems.append(Problem(at, f"{field_name}: {reason}", name))
            continue
        try:
            # Here, not in the (pure) model: it takes the sender's URL parser (httpx).
            check_endpoint_url(subscription.url)
        except EndpointURLError as exc:
            at = Location(file, *mark_of(item, "url"))
            problems.append(Problem(at, f"url: {exc}", subscription.id))
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
