"""docker-compose.yml, deploy/Dockerfile and deploy/k8s/ agree with the code they run.

No Docker engine or cluster is needed: the files are parsed and checked against the real
``newsalert`` command line (typer app), ``Settings``, ``constants``, the API routes and the
config parser, so a renamed option, setting, topic or consumer group breaks this test
instead of a deployment.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from newsalert import constants
from newsalert.api.server import create_app
from newsalert.cli import app
from newsalert.config import parse_config_text
from newsalert.errors import ConfigError
from newsalert.settings import Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
K8S = REPO / "deploy" / "k8s"
POM = REPO / "tests" / "kafka-reference" / "pom.xml"

#: The ``newsalert`` sub-commands the deployment files run; each must exist.
DEPLOYED_COMMANDS = ["matcher", "dispatcher", "receiver", "publish"]
NEWSALERT_SERVICES = ["matcher", "dispatcher", "receiver", "publish-seeds"]
API_PORT = "8000"


# ---------------------------------------------------------------- helpers


def _cli() -> Any:
    """The click command tree behind the typer app (typer vendors its own click)."""
    return typer.main.get_command(app)


def _parse_command(argv: list[str]) -> Any:
    """Resolve ``argv`` (after the ``newsalert`` entrypoint) and parse its options.

    Raises click's usage errors for an unknown command, option or bad value.
    """
    command = _cli()
    rest = list(argv)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        assert sub is not None, f"no such newsalert command: {rest[0]!r} (in {argv})"
        command, rest = sub, rest[1:]
    command.make_context(f"newsalert {argv[0]}", rest)
    return command


def _envvars(command: Any) -> set[str]:
    names: set[str] = set()
    for param in command.params:
        envvar = getattr(param, "envvar", None)
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
    return names


def _settings_env() -> set[str]:
    return {f"NEWSALERT_{name.upper()}" for name in Settings.model_fields}


def _interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` (with no VAR set) and ``$$`` escapes."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return value.replace("$$", "$")


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict)
    return document


def _service_env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: _interpolate(str(value)) for key, value in env.items()}


def _k8s_docs() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                yield path, doc


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    objects = {}
    for path, doc in _k8s_docs():
        if doc["kind"] == "Kustomization":
            continue
        key = (doc["kind"], doc["metadata"]["name"])
        assert key not in objects, f"{key} defined twice ({path.name})"
        objects[key] = doc
    return objects


def _of_kind(k8s: dict[tuple[str, str], dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for (k, _), doc in k8s.items() if k == kind]


def _topic_init_partitions(compose: dict[str, Any]) -> dict[str, int]:
    script = " ".join(compose["services"]["topic-init"]["command"])
    specs = re.search(r"for spec in ([^;]+);", script)
    assert specs is not None, "topic-init no longer loops over name:partitions specs"
    return {name: int(count) for name, count in (s.split(":") for s in specs.group(1).split())}


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize("name", DEPLOYED_COMMANDS)
def test_deployed_commands_exist(name: str) -> None:
    assert name in _cli().commands, f"newsalert has no {name!r} command"


def test_api_serves_the_probe_paths() -> None:
    paths = {getattr(route, "path", None) for route in create_app(object(), []).routes}  # type: ignore[arg-type]
    assert {"/healthz", "/readyz", "/metrics"} <= paths


# ---------------------------------------------------------------- docker-compose


def test_compose_runs_the_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "redis", "topic-init", *NEWSALERT_SERVICES} <= set(services)
    for name in NEWSALERT_SERVICES:
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (REPO / services[name]["build"]["context"] / "deploy" / "Dockerfile").is_file()


@pytest.mark.parametrize("name", NEWSALERT_SERVICES)
def test_compose_commands_and_env_are_real(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    command = _parse_command([str(arg) for arg in service["command"]])
    allowed = _settings_env() | _envvars(command)
    used = {key for key in _service_env(service) if key.startswith("NEWSALERT_")}
    assert used <= allowed, f"{name}: unknown NEWSALERT_ variables {sorted(used - allowed)}"


@pytest.mark.parametrize("name", ["matcher", "dispatcher"])
def test_compose_services_load_the_seed_rules(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    argv = [str(arg) for arg in service["command"]]
    assert argv[0] == name
    assert "./seeds:/config:ro" in service["volumes"]
    config_file = Path(_option(argv, "--config"))
    assert config_file.parent == Path("/config")
    seeds_file = REPO / "seeds" / config_file.name
    env = _service_env(service)
    config = parse_config_text(seeds_file.read_text(), env, source=str(seeds_file))
    assert config.subscriptions, "the seed rules deliver nowhere"
    receiver = compose["services"]["receiver"]["command"]
    inbox = f"http://receiver:{_option([str(a) for a in receiver], '--port')}/"
    assert all(sub.url.startswith(inbox) for sub in config.subscriptions)
    assert _option(argv, "--api-port") == API_PORT
    assert f"127.0.0.1:{API_PORT}/readyz" in " ".join(service["healthcheck"]["test"])


def test_compose_settings_point_at_the_compose_servers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    kafka_env = services["kafka"]["environment"]
    for name in ("matcher", "dispatcher", "publish-seeds"):
        settings = Settings(**_settings_kwargs(_service_env(services[name])))
        assert f"PLAINTEXT://{settings.kafka_bootstrap}" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
        assert settings.redis_url.startswith("redis://redis:6379/")


def _settings_kwargs(env: dict[str, str]) -> dict[str, Any]:
    return {
        k.removeprefix("NEWSALERT_").lower(): v
        for k, v in env.items()
        if k.startswith("NEWSALERT_")
    }


def test_webhook_allow_list_is_the_receiver_network_only(compose: dict[str, Any]) -> None:
    services, networks = compose["services"], compose["networks"]
    dispatcher = Settings(**_settings_kwargs(_service_env(services["dispatcher"])))
    allowed = [ipaddress.ip_network(n) for n in dispatcher.webhook_allow_networks]
    (receiver_net,) = services["receiver"]["networks"]
    subnet = ipaddress.ip_network(networks[receiver_net]["ipam"]["config"][0]["subnet"])
    assert any(subnet.subnet_of(net) for net in allowed)  # type: ignore[arg-type]
    assert receiver_net in services["dispatcher"]["networks"]
    for server in ("kafka", "redis"):
        assert receiver_net not in services[server]["networks"], (
            f"{server} is reachable by webhooks"
        )


def test_receiver_verifies_with_the_subscription_secret(compose: dict[str, Any]) -> None:
    services = compose["services"]
    secret = _service_env(services["receiver"])["NEWSALERT_RECEIVER_SECRET"]
    assert secret == _service_env(services["dispatcher"])["DEMO_WEBHOOK_SECRET"]
    host = _option([str(a) for a in services["receiver"]["command"]], "--host")
    assert host == "0.0.0.0"  # noqa: S104  (the inbox must be reachable from other containers)


def test_topic_init_creates_every_topic(compose: dict[str, Any]) -> None:
    partitions = _topic_init_partitions(compose)
    assert set(partitions) == {
        constants.TOPIC_ARTICLES,
        constants.TOPIC_ALERTS,
        constants.TOPIC_ARTICLES_DLQ,
        constants.TOPIC_ALERTS_DLQ,
    }
    depends = compose["services"]["matcher"]["depends_on"]
    assert depends["topic-init"]["condition"] == "service_completed_successfully"


def test_compose_kafka_is_the_reference_version(compose: dict[str, Any]) -> None:
    version = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    assert version is not None
    for name in ("kafka", "topic-init"):
        assert compose["services"][name]["image"] == f"apache/kafka:{version.group(1)}"
    env = compose["services"]["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_builds_a_non_root_image_without_the_embedded_extra() -> None:
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in instructions
    assert 'ENTRYPOINT ["newsalert"]' in instructions
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    installs = [line for line in lines if "pip install" in line]
    assert installs, "the image installs nothing"
    for line in installs:
        assert "newsalert-" in line, f"not the wheel built in the first stage: {line}"
        assert "[" not in line, f"the image installs an extra: {line}"
    for copy in (
        line for line in instructions if line.startswith("COPY ") and "--from" not in line
    ):
        for source in shlex.split(copy)[1:-1]:
            assert (REPO / source).exists(), f"Dockerfile copies missing {source}"
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    for needed in ("pyproject.toml", "README.md", "services"):
        assert f"!{needed}" in ignore


# ---------------------------------------------------------------- Kubernetes


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    assert [image["name"] for image in kustomization["images"]] == ["newsalert"]


def test_manifests_are_namespace_agnostic() -> None:
    for path, doc in _k8s_docs():
        assert "namespace" not in doc.get("metadata", {}), f"{path.name} pins a namespace"
        assert "namespace" not in doc or doc["kind"] != "Kustomization"


@pytest.mark.parametrize("component", ["matcher", "dispatcher"])
def test_deployment_runs_the_service_with_probes(
    k8s: dict[tuple[str, str], dict[str, Any]], component: str
) -> None:
    deployment = k8s[("Deployment", f"newsalert-{component}")]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = pod["containers"]
    assert container["image"] == "newsalert"  # the kustomization sets registry and tag
    command = _parse_command(container["args"])
    assert container["args"][0] == component
    port = _option(container["args"], "--api-port")
    assert {"name": "http", "containerPort": int(port)} in container["ports"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False

    refs = [
        ("ConfigMap", e["configMapRef"]["name"])
        for e in container["envFrom"]
        if "configMapRef" in e
    ]
    refs += [("Secret", e["secretRef"]["name"]) for e in container["envFrom"] if "secretRef" in e]
    refs += [("ConfigMap", v["configMap"]["name"]) for v in pod["volumes"] if "configMap" in v]
    for ref in refs:
        assert ref in k8s, f"{component} refers to missing {ref}"
    config_mount = Path(_option(container["args"], "--config")).parent
    assert str(config_mount) in {m["mountPath"] for m in container["volumeMounts"]}

    env_names = {e["name"] for e in container.get("env", [])}
    for kind, name in refs:
        env_names |= set(k8s[(kind, name)].get("data") or k8s[(kind, name)].get("stringData") or {})
    used = {name for name in env_names if name.startswith("NEWSALERT_")}
    allowed = _settings_env() | _envvars(command)
    assert used <= allowed, f"unknown NEWSALERT_ variables {sorted(used - allowed)}"


def test_rules_configmap_loads_with_the_secret(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    rules = k8s[("ConfigMap", "newsalert-rules")]["data"]["rules.yaml"]
    shipped = k8s[("Secret", "newsalert-webhook-secrets")]["stringData"]
    # The manifest ships empty values: the config is refused until real ones are set.
    with pytest.raises(ConfigError, match="secret"):
        parse_config_text(rules, shipped, source="configmap newsalert-rules")
    secrets = {name: "whsec_" + base64.b64encode(os.urandom(24)).decode() for name in shipped}
    config = parse_config_text(rules, secrets, source="configmap newsalert-rules")
    assert {sub.secret for sub in config.subscriptions} <= set(secrets.values())
    assert all(sub.url.startswith("https://") for sub in config.subscriptions)


@pytest.mark.parametrize(
    ("component", "group", "topic"),
    [
        ("matcher", constants.MATCHER_GROUP, constants.TOPIC_ARTICLES),
        ("dispatcher", constants.DISPATCHER_GROUP, constants.TOPIC_ALERTS),
    ],
)
def test_keda_scales_on_the_service_consumer_group(
    k8s: dict[tuple[str, str], dict[str, Any]],
    compose: dict[str, Any],
    component: str,
    group: str,
    topic: str,
) -> None:
    name = f"newsalert-{component}"
    scaled = k8s[("ScaledObject", name)]["spec"]
    assert scaled["scaleTargetRef"]["name"] == name
    assert ("Deployment", name) in k8s
    settings_map = k8s[("ConfigMap", "newsalert-settings")]["data"]
    settings = Settings(**_settings_kwargs(settings_map))
    (trigger,) = scaled["triggers"]
    meta = trigger["metadata"]
    assert trigger["type"] == "kafka"
    assert all(isinstance(value, str) for value in meta.values()), "KEDA metadata must be strings"
    assert meta["consumerGroup"] == settings.group(group)
    assert meta["topic"] == settings.topic(topic)
    assert meta["bootstrapServersFromEnv"] in settings_map
    assert int(meta["lagThreshold"]) > 0
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    # More replicas than partitions would sit idle.
    assert scaled["maxReplicaCount"] <= _topic_init_partitions(compose)[topic]


def test_pod_disruption_budgets_select_the_deployments(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    budgets = _of_kind(k8s, "PodDisruptionBudget")
    deployments = _of_kind(k8s, "Deployment")
    assert len(budgets) == len(deployments)
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, f"{deployment['metadata']['name']}: {len(matching)} budgets"
