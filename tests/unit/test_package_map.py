"""docs/architecture.md's package map and the import-linter contracts agree.

``make lint`` runs the contracts in ``pyproject.toml`` (``[tool.importlinter]``); the doc
draws the same map for readers. This test reads both, so a layer, a core module or a
known exception changed in one place and not the other fails here instead of leaving a
map that no longer says what CI checks. Whether the code keeps the contracts is
``lint-imports``' job, not this test's.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = REPO / "pyproject.toml"
ARCHITECTURE = REPO / "docs" / "architecture.md"
PREFIX = "newsalert."


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def _section() -> str:
    text = ARCHITECTURE.read_text(encoding="utf-8")
    start = text.index("## Package map")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def _layers_in_doc() -> list[list[str]]:
    """The boxes of the mermaid diagram, top to bottom, each a list of packages."""
    diagram = re.search(r"```mermaid\n(.*?)```", _section(), re.DOTALL)
    assert diagram is not None, "no mermaid diagram in the package map"
    nodes = {int(n): label for n, label in re.findall(r'L(\d+)\["([^"]*)"\]', diagram[1])}
    edges = re.findall(r"L(\d+)(?:\[\"[^\"]*\"\])? --> L(\d+)", diagram[1])
    assert nodes, "no boxes in the mermaid diagram"
    order = sorted(nodes)
    assert [(int(a), int(b)) for a, b in edges] == list(itertools.pairwise(order)), (
        "the diagram must be one chain of boxes, each pointing at the next"
    )
    return [[name.strip() for name in nodes[n].split("|")] for n in order]


def _layers_in_contract() -> list[list[str]]:
    return [
        [name.strip() for name in layer.split("|")]
        for layer in _contracts()["package-map"]["layers"]
    ]


def _backticked(text: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", text))


def _short(module: str) -> str:
    return module.removeprefix(PREFIX)


def test_the_diagram_draws_the_contract_layers() -> None:
    assert _layers_in_doc() == _layers_in_contract()


def test_the_package_map_contract_is_exhaustive_with_independent_boxes() -> None:
    # The doc promises every top-level module is in a box and a box's packages are peers.
    contract = _contracts()["package-map"]
    assert contract["type"] == "layers"
    assert contract["containers"] == ["newsalert"]
    assert contract["exhaustive"] is True
    assert all(":" not in layer for layer in contract["layers"])


def test_the_pure_core_and_what_it_must_not_import_match_the_contract() -> None:
    contract = _contracts()["pure-core"]
    assert contract["type"] == "forbidden"
    bullet = re.search(r"^- \*\*Pure core\*\*(.*?)(?=^- |^\S|\Z)", _section(), re.M | re.S)
    assert bullet is not None, "no 'Pure core' bullet in the package map"
    modules, _, forbidden = bullet[1].partition("None of them imports")
    assert forbidden, "the bullet must say what the core does not import"
    assert _backticked(modules) == {_short(m) for m in contract["source_modules"]}
    assert _backticked(forbidden) == {_short(m) for m in contract["forbidden_modules"]}


def test_the_known_exceptions_table_lists_every_ignored_import() -> None:
    ignored = {
        tuple(_short(side.strip()) for side in entry.split("->"))
        for contract in _contracts().values()
        for entry in contract.get("ignore_imports", [])
    }
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", _section(), re.M)
    assert len(rows) == len(set(rows)), "a known exception is listed twice"
    assert set(rows) == ignored
    if not ignored:
        assert "No known exceptions" in _section()


def test_every_contract_is_on_the_page() -> None:
    # A contract added to pyproject.toml and not described here fails this test.
    assert set(_contracts()) == {"package-map", "pure-core", "acyclic"}
    assert _contracts()["acyclic"]["type"] == "acyclic_siblings"
    assert "No import cycle" in _section()


def test_every_ignored_import_group_starts_with_its_reason() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    arrays = re.findall(r"^ignore_imports = \[\n(.*?)^\]", text, re.M | re.S)
    assert len(arrays) == sum("ignore_imports" in c for c in _contracts().values())
    for array in arrays:
        first = array.lstrip().splitlines()[0]
        assert first.startswith("#"), f"an ignore_imports list starts without a reason: {first}"
