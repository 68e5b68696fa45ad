"""The receiver snippet in docs/webhooks.md verifies what the dispatcher really sends."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsalert.dispatcher.deliverer import build_request
from newsalert.dispatcher.store import PendingDelivery
from newsalert.models import Alert, ArticleRef, RuleRef
from newsalert.subscriptions import Subscription

DOC = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
NEW = "whsec_" + base64.b64encode(b"new-secret-for-the-docs-test-01").decode()
OLD = "whsec_" + base64.b64encode(b"old-secret-for-the-docs-test-02").decode()


def _snippet() -> Callable[[bytes, dict[str, str], str], tuple[int, Any]]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- snippet: verify -->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/webhooks.md lost its verification snippet"
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)  # noqa: S102 (our own docs)
    handler = namespace["handle_newsalert"]
    assert callable(handler)
    return handler  # type: ignore[no-any-return]


def _request(now: datetime) -> tuple[bytes, dict[str, str], str]:
    sub = Subscription.model_validate(
        {"id": "desk", "url": "https://example.org/h", "secret": NEW,
         "secrets": [{"secret": OLD, "rotated_at": now.isoformat()}]}
    )  # fmt: skip
    alert = Alert(
        alert_id="alrt_1",
        rule=RuleRef(id="r", title="R"),
        article=ArticleRef(id="a1", title="Ambassador summoned"),
        story_id="a1",
        matched=["ambassador summoned"],
        created_at=now,
    )
    item = PendingDelivery("msg_1", "desk", alert, attempts=0, order=0.0, created_ms=0, force=False)
    request = build_request(sub, item, now)
    return request.body, dict(request.headers), request.headers["webhook-id"]


def test_the_docs_snippet_accepts_a_real_request_with_either_rotation_secret() -> None:
    handle = _snippet()
    body, headers, msg_id = _request(datetime.now(UTC))
    for secret in (NEW, OLD):
        status, payload = handle(body, headers, secret)
        assert status == 200
        assert payload["data"]["alert_id"] == msg_id == "msg_1"
        assert payload["data"]["subscription_id"] == "desk"


@pytest.mark.parametrize("tamper", ["body", "secret", "stale"])
def test_the_docs_snippet_rejects_tampering(tamper: str) -> None:
    handle = _snippet()
    when = datetime(2020, 1, 1, tzinfo=UTC) if tamper == "stale" else datetime.now(UTC)
    body, headers, _ = _request(when)
    secret = NEW
    if tamper == "body":
        body = body.replace(b"Ambassador", b"Embassador")
    if tamper == "secret":
        secret = "whsec_" + base64.b64encode(b"someone-else-entirely-000000000").decode()
    assert handle(body, headers, secret) == (400, None)
