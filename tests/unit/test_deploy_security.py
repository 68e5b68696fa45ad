"""The deployment files keep the API and the pods locked down (docs/security.md).

Parsed, not applied: the API is exposed on 0.0.0.0 only where a network namespace and a
NetworkPolicy fence it; tokens and webhook secrets come from Secrets that ship empty;
pods run as non-root on a read-only root filesystem; the NetworkPolicies let Prometheus
reach the API port and the pods reach DNS, Kafka, Redis and (the dispatcher only) the
internet on 80/443 and nothing else. When ``kubectl`` or ``kustomize`` is installed, the
kustomization is also rendered.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
COMPONENTS = ("matcher", "dispatcher")
API_PORT = 8000
#: Ranges the dispatcher's internet egress must never include.
NEVER_REACHED = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                 "127.0.0.0/8", "100.64.0.0/10", "fc00::/7", "fe80::/10")  # fmt: skip


def _objects(documents: list[Any]) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc and doc.get("kind") != "Kustomization"]


@pytest.fixture(scope="module")
def k8s() -> list[dict[str, Any]]:
    docs: list[Any] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(yaml.safe_load_all(path.read_text()))
    return _objects(docs)


def _get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def _policies(objects: list[dict[str, Any]], component: str, kind: str) -> list[dict[str, Any]]:
    """Specs of the NetworkPolicies of type ``kind`` that select ``component``'s pods."""
    deployment = _get(objects, "Deployment", f"newsalert-{component}")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    return [
        o["spec"]
        for o in objects
        if o["kind"] == "NetworkPolicy"
        and kind in o["spec"]["policyTypes"]
        and o["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]


@pytest.mark.parametrize("component", COMPONENTS)
def test_pods_are_non_root_read_only_and_expose_the_api_explicitly(
    k8s: list[dict[str, Any]], component: str
) -> None:
    pod = _get(k8s, "Deployment", f"newsalert-{component}")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    args = container["args"]
    assert args[args.index("--api-host") + 1] == "0.0.0.0"  # noqa: S104 (fenced by the policies)
    secrets = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
    token_keys = {"NEWSALERT_API_READ_TOKENS", "NEWSALERT_API_ADMIN_TOKENS"}
    assert any(token_keys <= set(_get(k8s, "Secret", name)["stringData"]) for name in secrets), (
        "the API tokens do not come from a Secret"
    )


def test_secrets_ship_no_value(k8s: list[dict[str, Any]]) -> None:
    secrets = [o for o in k8s if o["kind"] == "Secret"]
    assert secrets
    for secret in secrets:
        assert "data" not in secret
        values = secret["stringData"]
        assert values
        assert all(value == "" for value in values.values()), secret["metadata"]["name"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_only_the_monitoring_namespace_reaches_the_api_port(
    k8s: list[dict[str, Any]], component: str
) -> None:
    policies = _policies(k8s, component, "Ingress")
    assert policies, f"{component} accepts connections from anywhere"
    for policy in policies:
        for rule in policy.get("ingress", []):
            assert rule["ports"] == [{"protocol": "TCP", "port": API_PORT}]
            assert rule["from"] == [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ]


def _reachable(bad: Any, reached: Any, excluded: list[Any]) -> bool:
    """Whether network ``bad`` lies in ``reached`` and in none of ``excluded``."""
    if bad.version != reached.version or not bad.subnet_of(reached):
        return False
    return not any(e.version == bad.version and bad.subnet_of(e) for e in excluded)


@pytest.mark.parametrize("component", COMPONENTS)
def test_egress_is_dns_kafka_redis_and_web_for_the_dispatcher_only(
    k8s: list[dict[str, Any]], component: str
) -> None:
    policies = _policies(k8s, component, "Egress")
    assert policies, f"{component} may connect anywhere"
    ports: set[int] = set()
    for policy in policies:
        for rule in policy["egress"]:
            assert rule.get("ports"), "an egress rule without ports opens every port"
            rule_ports = {p["port"] for p in rule["ports"]}
            ports |= rule_ports
            for peer in rule["to"]:
                if "ipBlock" not in peer:
                    continue
                assert rule_ports <= {80, 443}
                block = peer["ipBlock"]
                reached = ipaddress.ip_network(block["cidr"])
                excluded = [ipaddress.ip_network(c) for c in block.get("except", [])]
                for text in NEVER_REACHED:
                    assert not _reachable(ipaddress.ip_network(text), reached, excluded), (
                        f"{component} may reach {text}"
                    )
    expected = {53, 9092, 6379} | ({80, 443} if component == "dispatcher" else set())
    assert ports == expected


def test_the_image_listens_on_all_interfaces_of_its_own_namespace() -> None:
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert "NEWSALERT_API_HOST=0.0.0.0" in dockerfile


def test_kustomize_renders_the_manifests() -> None:
    if shutil.which("kubectl"):
        argv = ["kubectl", "kustomize", str(K8S)]
    elif shutil.which("kustomize"):
        argv = ["kustomize", "build", str(K8S)]
    else:
        pytest.skip("neither kubectl nor kustomize is installed")
    done = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60)
    rendered = _objects(list(yaml.safe_load_all(done.stdout)))
    kinds = [o["kind"] for o in rendered]
    assert kinds.count("NetworkPolicy") == 3
    assert kinds.count("Secret") == 2
    for obj in rendered:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "newsalert"
