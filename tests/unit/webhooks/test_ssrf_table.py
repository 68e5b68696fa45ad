"""The SSRF guard's deny table: one row per address class, with the reason it gives."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsalert.webhooks.ssrf import DENY_TABLE, METADATA_ADDRESSES, AddressPolicy, embedded_ipv4

#: (address, words the refusal must contain); None = allowed.
TABLE: list[tuple[str, str | None]] = [
    # IPv4
    ("0.0.0.0", "unspecified"),  # noqa: S104 (refused, not bound)
    ("0.1.2.3", "unspecified"),
    ("10.1.2.3", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("169.254.1.1", "link-local"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.0.0.8", "IETF protocol"),
    ("192.0.2.1", "documentation"),
    ("192.88.99.1", "6to4 relay"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.7", "documentation"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "private or reserved"),
    ("255.255.255.255", "private or reserved"),
    # cloud metadata and credential endpoints
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    ("192.0.0.192", "metadata"),
    ("fd00:ec2::254", "metadata"),
    # IPv6
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:0:10.0.0.1", "IPv4-translated"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("100::1", "discard-only"),
    ("2001::1", "Teredo"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001:2::1", "benchmarking"),
    ("2001:10::1", "ORCHID"),
    ("2001:20::1", "ORCHIDv2"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("5f00::1", "segment-routing"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("feff::1", "site-local"),
    ("ff02::1", "multicast"),
    # 6to4: the embedded IPv4 address decides
    ("2002:7f00:1::1", "6to4 address embedding 127.0.0.1: loopback"),
    ("2002:a9fe:a9fe::1", "metadata"),
    ("2002:a00:1::", "6to4 address embedding 10.0.0.1: private"),
    ("2002:c0a8:101::1", "6to4 address embedding 192.168.1.1"),
    ("2002:6464:64c8::", "metadata"),  # 100.100.100.200
    ("2002:808:808::1", None),  # 8.8.8.8
    # NAT64 (well-known prefix): the embedded IPv4 address decides
    ("64:ff9b::7f00:1", "NAT64 address embedding 127.0.0.1: loopback"),
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b::ac10:1", "NAT64 address embedding 172.16.0.1"),
    ("64:ff9b::808:808", None),
    # public
    ("8.8.8.8", None),
    ("93.184.216.34", None),
    ("1.1.1.1", None),
    ("2606:4700:4700::1111", None),
    ("2a00:1450:4001:82a::200e", None),
    ("::ffff:8.8.8.8", None),
]


@pytest.mark.parametrize(("text", "expected"), TABLE)
def test_every_address_class_gets_its_verdict(text: str, expected: str | None) -> None:
    reason = AddressPolicy().refusal(ipaddress.ip_address(text))
    if expected is None:
        assert reason is None
    else:
        assert reason is not None, f"{text} passed the guard"
        assert expected in reason


def test_every_deny_table_row_is_exercised() -> None:
    covered = [ipaddress.ip_address(text) for text, expected in TABLE if expected is not None]
    for network, _reason in DENY_TABLE:
        assert any(address in network for address in covered), f"no case for {network}"


@pytest.mark.parametrize("address", sorted(METADATA_ADDRESSES, key=str))
def test_metadata_is_refused_even_inside_an_allowed_network(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    wide = "0.0.0.0/0" if address.version == 4 else "::/0"
    policy = AddressPolicy.from_strings([wide, "100.64.0.0/10", "169.254.0.0/16"])
    assert policy.refusal(address) == "cloud metadata address"


def test_an_allowed_network_still_opens_its_other_addresses() -> None:
    policy = AddressPolicy.from_strings(["100.64.0.0/10"])
    assert policy.refusal(ipaddress.ip_address("100.64.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("100.100.100.200")) == "cloud metadata address"


def test_the_allow_list_does_not_open_tunnelled_addresses() -> None:
    # 127.0.0.0/8 allows local development, not loopback embedded in a 6to4/NAT64 address.
    policy = AddressPolicy.from_strings(["127.0.0.0/8"])
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("2002:7f00:1::1")) is not None
    assert policy.refusal(ipaddress.ip_address("64:ff9b::7f00:1")) is not None


_ipv4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@given(inner=_ipv4, low=st.integers(0, 2**80 - 1))
def test_6to4_and_nat64_get_the_verdict_of_the_embedded_address(
    inner: ipaddress.IPv4Address, low: int
) -> None:
    policy = AddressPolicy()
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(inner) << 80) | low)
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(inner))
    expected = policy.refusal(inner) is None
    for address in (six_to_four, nat64):
        assert embedded_ipv4(address) is not None
        assert embedded_ipv4(address)[1] == inner  # type: ignore[index]
        assert (policy.refusal(address) is None) == expected, address
