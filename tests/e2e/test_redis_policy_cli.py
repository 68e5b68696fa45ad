"""``newsalert run|matcher|dispatcher`` against a Redis that may evict keys, as processes.

Each service refuses to start (a clear message, exit status 78) when the Redis policy is
``allkeys-lru``; it runs with ``noeviction``, or with the override that accepts the risk.
The broker is the embedded tansu (the check happens before any Kafka client starts).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

from newsalert.redis_policy import EXIT_CODE
from newsalert.settings import Settings
from newsalert.stack import StackInfo
from tests.conftest import RestartableRedis
from tests.integration.guarantee_support import ServiceProcess, service_env
from tests.integration.pipeline_harness import RULES_YAML, new_secret

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _settings(stack: StackInfo, redis_url: str) -> Settings:
    tag = uuid.uuid4().hex[:10]
    return Settings(
        kafka_bootstrap=stack.kafka_bootstrap,
        redis_url=redis_url,
        topic_prefix=f"t{tag}.",
        redis_prefix=f"na:test:{tag}:",
    )


def _policy(url: str, policy: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.config_set("maxmemory-policy", policy)
    finally:
        client.close()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_YAML.format(url="http://127.0.0.1:9", secret=new_secret()))
    return path


@pytest.mark.parametrize("role", ["run", "matcher", "dispatcher"])
async def test_an_evicting_redis_is_refused_with_its_own_exit_status(
    role: str,
    embedded_stack: StackInfo,
    own_redis: RestartableRedis,
    config: Path,
    tmp_path: Path,
) -> None:
    _policy(own_redis.url, "allkeys-lru")
    env = service_env(_settings(embedded_stack, own_redis.url))
    service = ServiceProcess(role, config, env, tmp_path / f"{role}.log").start()
    try:
        code = await service.wait(60)
    finally:
        await service.close()
    log = service.log_tail()
    assert code == EXIT_CODE == 78, log
    assert "error: Redis maxmemory-policy is 'allkeys-lru'" in log
    assert "NEWSALERT_REDIS_ALLOW_EVICTION=1" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("policy", "extra"),
    [("noeviction", {}), ("allkeys-lru", {"NEWSALERT_REDIS_ALLOW_EVICTION": "1"})],
)
async def test_noeviction_or_the_override_runs(
    policy: str,
    extra: dict[str, str],
    embedded_stack: StackInfo,
    own_redis: RestartableRedis,
    config: Path,
    tmp_path: Path,
) -> None:
    _policy(own_redis.url, policy)
    env = service_env(_settings(embedded_stack, own_redis.url), **extra)
    service = ServiceProcess("dispatcher", config, env, tmp_path / "dispatcher.log").start()
    try:
        await service.wait_ready(90)
    finally:
        await service.close()
    assert service.process is not None
    assert service.process.returncode == 0, service.log_tail()
    if extra:
        assert "running anyway (NEWSALERT_REDIS_ALLOW_EVICTION)" in service.log_tail()
    else:
        assert "maxmemory-policy" not in service.log_tail()


async def test_python_m_dispatcher_is_refused_too(
    embedded_stack: StackInfo, own_redis: RestartableRedis, config: Path
) -> None:
    _policy(own_redis.url, "volatile-lru")
    env = service_env(_settings(embedded_stack, own_redis.url))
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "newsalert.dispatcher", "--config", str(config)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == EXIT_CODE, done.stderr
    assert "error: Redis maxmemory-policy is 'volatile-lru'" in done.stderr
