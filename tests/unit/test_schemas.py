"""schemas/ must be exactly what the models generate (run `newsalert schemas write`)."""

from __future__ import annotations

from pathlib import Path

from newsalert.schemas import all_schemas, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_schema_files_match_models() -> None:
    generated = all_schemas()
    on_disk = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert on_disk == set(generated), "schemas/ has extra or missing files"
    for name, schema in generated.items():
        text = (SCHEMAS / f"{name}.schema.json").read_text()
        assert text == render(schema), (
            f"schemas/{name}.schema.json drifted: run `newsalert schemas write`"
        )


def test_payload_schema_names_the_contract_fields() -> None:
    payload = all_schemas()["webhook-payload"]
    data = payload["$defs"]["WebhookAlertData"]["properties"]
    assert {"alert_id", "subscription_id", "rule", "article", "matched"} <= set(data)
