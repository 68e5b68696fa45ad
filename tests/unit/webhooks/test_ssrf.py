"""The SSRF address policy and the connect-time check (no sockets opened here)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import pytest

from newsalert.webhooks.ssrf import AddressPolicy, GuardedNetworkBackend, SSRFError

REFUSED = [
    "127.0.0.1", "127.1.2.3", "::1", "10.0.0.1", "172.16.0.1", "192.168.1.1",
    "169.254.169.254", "169.254.1.1", "fe80::1", "224.0.0.1", "ff02::1", "0.0.0.0",  # noqa: S104 (refused, not bound)
    "100.64.0.1", "100.100.100.200", "fd00:ec2::254", "fc00::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "168.63.129.16", "240.0.0.1", "255.255.255.255",
]  # fmt: skip
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("text", REFUSED)
def test_non_public_addresses_are_refused_by_default(text: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(text)) is not None


@pytest.mark.parametrize("text", ALLOWED)
def test_public_addresses_are_allowed(text: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(text)) is None


def test_reasons_name_the_category() -> None:
    policy = AddressPolicy()
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) == "loopback address"
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) == "cloud metadata address"
    assert policy.refusal(ipaddress.ip_address("fe80::1")) == "link-local address"
    assert policy.refusal(ipaddress.ip_address("224.0.0.1")) == "multicast address"
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) == "private or reserved address"


def test_allow_list_opens_only_the_listed_networks() -> None:
    policy = AddressPolicy.from_strings(["127.0.0.0/8", "::1/128"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.refusal(ipaddress.ip_address("169.254.169.254")) is not None


def test_a_name_with_any_private_answer_is_refused() -> None:
    mixed = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")]
    with pytest.raises(SSRFError, match=r"10\.0\.0\.1"):
        AddressPolicy().check("mixed.example", mixed)
    with pytest.raises(SSRFError, match="did not resolve"):
        AddressPolicy().check("nothing.example", [])


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.connected: list[str] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        self.connected.append(host)
        raise httpcore.ConnectError("recorded, not connected")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _fake_dns(answers: Iterable[str]) -> Any:
    queue = list(answers)

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return getaddrinfo


async def test_connects_to_the_vetted_address_not_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the first answer is public, later ones point inside. The backend
    # resolves once and connects to that IP literal, so a second lookup never happens.
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", _fake_dns(["93.184.216.34", "127.0.0.1"]))
    inner = _RecordingBackend()
    backend = GuardedNetworkBackend(AddressPolicy(), inner)
    with pytest.raises(httpcore.ConnectError):
        await backend.connect_tcp("rebind.example", 80)
    assert inner.connected == ["93.184.216.34"]


@pytest.mark.parametrize("answer", ["127.0.0.1", "10.0.0.1", "169.254.169.254"])
async def test_a_hostname_resolving_inside_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", _fake_dns([answer]))
    inner = _RecordingBackend()
    backend = GuardedNetworkBackend(AddressPolicy(), inner)
    with pytest.raises(SSRFError):
        await backend.connect_tcp("inside.example", 443)
    assert inner.connected == []


async def test_unix_sockets_are_refused() -> None:
    with pytest.raises(SSRFError):
        await GuardedNetworkBackend(AddressPolicy()).connect_unix_socket("/var/run/docker.sock")
