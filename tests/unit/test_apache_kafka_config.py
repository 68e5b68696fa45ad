"""The parts of the Apache Kafka launcher that need no JVM: config, ids, availability."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from newsalert.errors import StackError
from newsalert.stack import apache_kafka
from newsalert.stack.apache_kafka import ApacheKafka, random_cluster_id, server_properties


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_server_properties_single_node_kraft_on_given_ports(tmp_path: Path) -> None:
    props = _parse(server_properties(tmp_path / "data", 41001, 41002))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:41002"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:41001,CONTROLLER://127.0.0.1:41002"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:41001"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["num.partitions"] == "3"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"


def test_cluster_ids_look_like_kafka_uuids() -> None:
    ids = {random_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_unavailable_without_java(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    reason = ApacheKafka.unavailable_reason()
    assert reason is not None
    assert "java not found" in reason


def test_unavailable_without_mvn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/java" if name == "java" else None)
    reason = ApacheKafka.unavailable_reason()
    assert reason is not None
    assert "mvn not found" in reason


@pytest.mark.parametrize(
    ("banner", "expected"),
    [
        ('openjdk version "17.0.15" 2025-04-15', None),
        ('openjdk version "21" 2023-09-19', None),
        ('java version "1.8.0_392"', "java 8 found"),
        ('openjdk version "11.0.2" 2019-01-15', "java 11 found"),
    ],
)
def test_java_version_gate(
    monkeypatch: pytest.MonkeyPatch, banner: str, expected: str | None
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")

    def fake_run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr=banner + "\n")

    monkeypatch.setattr(apache_kafka.subprocess, "run", fake_run)
    reason = ApacheKafka.unavailable_reason()
    if expected is None:
        assert reason is None
    else:
        assert reason is not None
        assert expected in reason


def test_missing_pom_is_a_stack_error(tmp_path: Path) -> None:
    kafka = ApacheKafka(tmp_path / "state", tmp_path / "nope" / "pom.xml")
    with pytest.raises(StackError, match="pom not found"):
        kafka.ensure_jars()


def test_bootstrap_before_start_is_a_stack_error(tmp_path: Path) -> None:
    kafka = ApacheKafka(tmp_path / "state", tmp_path / "pom.xml")
    with pytest.raises(StackError, match="not running"):
        _ = kafka.bootstrap


def test_relative_pom_path_fetches_jars_where_maven_puts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Maven resolves a relative -DoutputDirectory against the pom's folder; the stand-in
    # does the same, so a relative path handed to it would land the jars elsewhere.
    pom_dir = tmp_path / "kafka-reference"
    pom_dir.mkdir()
    (pom_dir / "pom.xml").write_text("<project/>")
    monkeypatch.chdir(tmp_path)
    calls: list[list[str]] = []

    def fake_mvn(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        pom = Path(argv[argv.index("-f") + 1])
        out = Path(next(a for a in argv if a.startswith("-DoutputDirectory=")).split("=", 1)[1])
        target = out if out.is_absolute() else tmp_path / pom.parent / out
        target.mkdir(parents=True, exist_ok=True)
        (target / "kafka_2.13-4.0.0.jar").write_bytes(b"jar")
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    monkeypatch.setattr(apache_kafka.subprocess, "run", fake_mvn)
    kafka = ApacheKafka(Path("state"), Path("kafka-reference/pom.xml"))
    jars = kafka.ensure_jars()
    assert jars == pom_dir / "target" / "jars"
    assert (jars / "kafka_2.13-4.0.0.jar").is_file()
    assert kafka.ensure_jars() == jars  # reused while the pom is unchanged
    assert len(calls) == 1
