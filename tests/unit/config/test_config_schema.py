"""The config's shape is written twice: the loader's tables and the pydantic schema.

These tests hold them together: the same key sets, the same defaults, and on generated
documents (hypothesis) the loader accepts exactly what the schema accepts.
"""

from __future__ import annotations

import typing
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from newsalert.config import parse_config_text
from newsalert.config import schema as config_schema
from newsalert.config.loader import SUPPORTED_VERSION, TOP_KEYS
from newsalert.rules import RuleFileError
from newsalert.rules.language.model import DEFAULT_WINDOW, FIELDS
from newsalert.rules.language.parse import DEFAULT_KEYS, GROUP_KEYS, RULE_KEYS


def test_key_sets_agree() -> None:
    assert set(config_schema.ConfigFile.model_fields) == TOP_KEYS
    assert set(config_schema.Defaults.model_fields) == DEFAULT_KEYS
    assert set(config_schema.RuleDoc.model_fields) == RULE_KEYS
    assert tuple(config_schema.Group.model_fields) == GROUP_KEYS
    assert typing.get_args(config_schema.Field_) == FIELDS


def test_versions_and_defaults_agree() -> None:
    version = config_schema.ConfigFile.model_fields["version"]
    assert typing.get_args(version.annotation) == (SUPPORTED_VERSION,)
    defaults = config_schema.Defaults()
    assert (defaults.window, tuple(defaults.fields)) == (DEFAULT_WINDOW, FIELDS)


_WINDOW = st.one_of(st.integers(-1, 12), st.just(True), st.just("8"), st.none())
_FIELDS = st.one_of(
    st.lists(st.sampled_from(["title", "body", "summary"]), max_size=3),
    st.sampled_from(["title", "headline"]),
    st.none(),
)
_STRINGS = st.one_of(
    st.lists(st.sampled_from(["en", "reuters", "", "x"]), max_size=2), st.just("en"), st.just(3)
)
_OPTIONAL = {
    "window": _WINDOW,
    "fields": _FIELDS,
    "tags": _STRINGS,
    "languages": _STRINGS,
    "sources": _STRINGS,
    "title": st.one_of(st.text(max_size=5), st.just(7)),
    "colour": st.just("red"),
}


@st.composite
def _rule(draw: st.DrawFn, number: int) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": draw(st.sampled_from([f"r{number}", f"R {number}"]))}
    rule["all"] = ["port"]
    for key in draw(st.lists(st.sampled_from(sorted(_OPTIONAL)), unique=True, max_size=3)):
        rule[key] = draw(_OPTIONAL[key])
    return rule


@st.composite
def _document(draw: st.DrawFn) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["version"] = draw(st.sampled_from([1, 2, True, "1", 1.0]))
    if draw(st.booleans()):
        defaults: dict[str, Any] = {}
        if draw(st.booleans()):
            defaults["window"] = draw(_WINDOW.filter(lambda w: w is not None))
        if draw(st.booleans()):
            defaults["fields"] = draw(_FIELDS.filter(lambda f: f is not None))
        if draw(st.booleans()):
            defaults["stemming"] = "off"
        document["defaults"] = defaults
    count = draw(st.integers(0, 2))
    document["rules"] = [draw(_rule(number)) for number in range(count)]
    if draw(st.booleans()):
        document["owner"] = "desk"
    return document


@settings(max_examples=300, deadline=None)
@given(_document())
def test_loader_and_schema_accept_the_same_documents(document: dict[str, Any]) -> None:
    try:
        parse_config_text(yaml.safe_dump(document))
        loaded = True
    except RuleFileError:
        loaded = False
    try:
        config_schema.ConfigFile.model_validate(document, strict=True)
        schema = True
    except ValidationError:
        schema = False
    assert loaded == schema, document
