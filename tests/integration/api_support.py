"""A running service (matcher + dispatcher + API) on the embedded stack, for API tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr
from redis.asyncio import Redis

from newsalert.kafka import ensure_topics
from newsalert.receiver import WebhookInbox
from newsalert.runner import Roles, run_until_stopped
from newsalert.settings import Settings
from newsalert.stack.process import free_port

READ_TOKEN = "read-token-for-tests-0123456789"
ADMIN_TOKEN = "admin-token-for-tests-0123456789"
WRONG_TOKEN = "not-a-configured-token-0123456789"


@dataclass
class ApiService:
    """The base URL of the running service's API, its inbox and its settings."""

    base: str
    inbox: WebhookInbox
    settings: Settings

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        """A client of the API, sending ``token`` as a bearer token when given."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base, headers=headers, timeout=10)

    async def redis_snapshot(self) -> dict[str, bytes]:
        """Every key under the test's prefix with its serialised value (TTL left out)."""
        redis = Redis.from_url(self.settings.redis_url)
        try:
            keys = [k async for k in redis.scan_iter(match=f"{self.settings.redis_prefix}*")]
            return {key.decode(): await redis.dump(key) or b"" for key in sorted(keys)}
        finally:
            await redis.aclose()


def with_tokens(
    settings: Settings, *, read: str = READ_TOKEN, admin: str = ADMIN_TOKEN
) -> Settings:
    """``settings`` with API tokens configured."""
    return settings.model_copy(
        update={"api_read_tokens": SecretStr(read), "api_admin_tokens": SecretStr(admin)}
    )


@contextlib.asynccontextmanager
async def api_service(
    settings: Settings, config_text: str, tmp_path: Path, inbox: WebhookInbox
) -> AsyncIterator[ApiService]:
    """Run ``newsalert run --api-port`` in this process until the block ends."""
    config = tmp_path / "rules.yaml"
    config.write_text(config_text)
    await ensure_topics(settings)
    port = free_port()
    stop = asyncio.Event()
    roles = Roles(api_port=port)
    task = asyncio.create_task(
        run_until_stopped(settings, config, dict(os.environ), roles, stop, handle_signals=False)
    )
    service = ApiService(f"http://127.0.0.1:{port}", inbox, settings)
    try:
        async with service.client() as client:
            for _ in range(400):
                if task.done():
                    task.result()
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the service did not become ready")
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)
