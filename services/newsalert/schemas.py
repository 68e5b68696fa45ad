"""JSON Schemas of the published records, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from newsalert.config.schema import ConfigFile
from newsalert.models import schema_models


def all_schemas() -> dict[str, dict[str, Any]]:
    """``{name: schema}`` for every published record type, including the config file."""
    models: dict[str, type[BaseModel]] = dict(schema_models())
    models["config"] = ConfigFile
    return {name: model.model_json_schema(mode="serialization") for name, model in models.items()}


def render(schema: dict[str, Any]) -> str:
    """The exact text written to disk (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(out: Path) -> list[Path]:
    """Write ``<name>.schema.json`` files into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in sorted(all_schemas().items()):
        path = out / f"{name}.schema.json"
        path.write_text(render(schema))
        written.append(path)
    return written
