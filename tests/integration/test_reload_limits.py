"""Hostile rule files saved under a running ``newsalert run`` (real broker, Redis, HTTP).

An alias bomb, 300 nested parentheses, a long NOT chain, an overflowing NEAR distance and
window: each save is refused by the hot reload, the last good rules keep alerting,
``newsalert_rules_reload_failing`` is 1 and the process's peak memory does not grow; a
good save then goes live and the gauge returns to 0.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from newsalert.receiver import WebhookInbox
from newsalert.settings import Settings
from tests.integration.guarantee_support import (
    EXTRA_RULE,
    RULES,
    ServiceProcess,
    config_yaml,
    counted,
    delivery_counts,
    eventually,
    expected_deliveries,
    make_articles,
    missing_and_repeated,
    publish_articles,
    service_env,
)
from tests.integration.pipeline_harness import new_secret
from tests.unit.rules.hostile_rules import alias_bomb

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

#: Growth of the service's peak resident memory allowed over all the bad saves, MiB (a
#: bomb that expanded would take gigabytes; parsing the small files takes a few MiB).
MAX_PEAK_GROWTH_MIB = 100


def with_rule(good: str, rule: str, head: str = "") -> str:
    """The good config with one more rule (and ``head`` lines before it all)."""
    return head + good.replace("rules:\n", "rules:\n" + rule, 1)


def bad_files(good: str) -> dict[str, str]:
    return {
        "alias bomb": with_rule(good, "  - id: bomb\n    all: *i\n", head=alias_bomb()),
        "deep parentheses": with_rule(
            good, "  - id: deep\n    query: '" + "(" * 300 + "envoy" + ")" * 300 + "'\n"
        ),
        "NOT chain": with_rule(
            good, "  - id: nots\n    query: 'envoy " + "NOT " * 5000 + "summoned'\n"
        ),
        "NEAR distance": with_rule(
            good, "  - id: far\n    query: 'envoy NEAR/99999999999999999999 summoned'\n"
        ),
        "window": with_rule(
            good, "  - id: wide\n    window: 99999999999999999999999\n    all: [a b]\n"
        ),
    }


def peak_rss_mib(pid: int) -> float:
    """The peak resident set size of process ``pid`` so far (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def save(path: Path, text: str) -> None:
    """Replace ``path`` at once, as editors do (the reload never sees half a file)."""
    new = path.with_suffix(".new")
    new.write_text(text, encoding="utf-8")
    new.replace(path)


async def test_bad_rule_files_keep_the_old_rules_live_in_bounded_memory(
    settings: Settings, tmp_path: Path
) -> None:
    inbox = WebhookInbox()
    await inbox.start()
    secret = new_secret()
    config = tmp_path / "config.yaml"
    good = config_yaml(inbox.url, secret)
    config.write_text(good)
    env = service_env(settings, NEWSALERT_RELOAD_INTERVAL_S="0.2")
    service = ServiceProcess("run", config, env, tmp_path / "run.log")
    first = make_articles(3, list(RULES), seed=21, tag="first")
    during = make_articles(3, list(RULES), seed=22, tag="during")
    glacier = make_articles(1, [EXTRA_RULE[0]], seed=23, tag="glacier")
    try:
        service.start()
        await service.wait_ready()
        assert service.process is not None
        await publish_articles(settings, first)
        await inbox.wait_for(len(expected_deliveries(first)), timeout_s=60)
        peak_before = peak_rss_mib(service.process.pid)

        for name, text in bad_files(good).items():
            before = counted(
                await service.metrics(), "newsalert_rules_reloads_total", result="invalid"
            )
            save(config, text)

            async def refused(before: float = before) -> bool:
                got = await service.metrics()
                return (
                    counted(got, "newsalert_rules_reloads_total", result="invalid") > before
                    and counted(got, "newsalert_rules_reload_failing") == 1
                )

            assert await eventually(refused, 30), (name, service.log_tail())
            assert service.process.poll() is None, f"{name}: the service stopped"
            assert await service.ready_status() == 200, name
        peak_after = peak_rss_mib(service.process.pid)
        rules = await service.get("/rules")
        assert rules is not None
        assert {r["id"] for r in rules.json()} == set(RULES)

        # The last good rules still alert (the articles are published after every save).
        await publish_articles(settings, during)
        await inbox.wait_for(len(expected_deliveries([*first, *during])), timeout_s=60)

        save(config, config_yaml(inbox.url, secret, extra_rule=True))

        async def recovered() -> bool:
            got = await service.metrics()
            return counted(got, "newsalert_rules_reload_failing") == 0

        assert await eventually(recovered, 30), service.log_tail()
        await publish_articles(settings, glacier)  # the sentinel: only the new rule fires it
        expected = expected_deliveries([*first, *during, *glacier])
        await inbox.wait_for(len(expected), timeout_s=60)
        service.signal(signal.SIGTERM)
        code = await service.wait()
    finally:
        await service.close()
        await inbox.stop()

    counts = delivery_counts(inbox.received, secret)
    missing, repeated, unexpected = missing_and_repeated(counts, expected)
    assert not missing
    assert not repeated
    assert not unexpected
    assert peak_after - peak_before < MAX_PEAK_GROWTH_MIB, (peak_before, peak_after)
    assert code == 0, service.log_tail()
    log = (tmp_path / "run.log").read_text()
    assert "aliases expand this value" in log
    assert "parentheses and NOT nested more than" in log
