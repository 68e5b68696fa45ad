"""The SSRF address policy (the connect-time check of deliveries is tested with the
delivery client: tests/integration/test_webhooks_http1.py)."""

from __future__ import annotations

import ipaddress

import pytest

from newsalert.webhooks.ssrf import AddressPolicy, SSRFError

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
