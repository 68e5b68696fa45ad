"""The SSRF guard: webhooks may only reach public addresses, checked at connect time.

The delivery client (:mod:`newsalert.webhooks.http1`) vets the address it connects to:
the host is resolved once (:func:`resolve`), every address is checked
(:meth:`AddressPolicy.check`), and the socket is opened to the vetted IP literal (TLS
still verifies the original host name). A DNS answer that changes between check and
connect (rebinding) cannot bypass it. A name that does not resolve is an
``httpcore.ConnectError``, the failure the sender reports for any unreachable host.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpcore

from newsalert.errors import DeliveryError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Cloud instance-metadata and credential endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6,
#: Alibaba, Azure wire server, Oracle, AWS ECS task credentials). Refused even when an
#: allow-listed network contains them: allowing a private range must not hand out the
#: node's cloud credentials.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.0.192",
        "169.254.170.2",
    )
)
ALLOWED_SCHEMES = frozenset({"http", "https"})

#: Addresses that carry an IPv4 address inside an IPv6 one: the embedded address is what
#: the packets finally reach (through a 6to4 relay or a NAT64 gateway), so it is checked.
_6TO4 = ipaddress.ip_network("2002::/16")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _deny(*entries: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), reason) for cidr, reason in entries)


_PRIVATE = "private or reserved address"

#: Every non-public range, with the reason given. Checked before the stdlib's flags,
#: whose coverage differs between Python releases; the flags stay as a backstop.
DENY_TABLE: tuple[tuple[IPNetwork, str], ...] = _deny(
    ("0.0.0.0/8", "unspecified address"),
    ("10.0.0.0/8", _PRIVATE),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback address"),
    ("169.254.0.0/16", "link-local address"),
    ("172.16.0.0/12", _PRIVATE),
    ("192.0.0.0/24", "IETF protocol assignment"),
    ("192.0.2.0/24", "documentation address"),
    ("192.88.99.0/24", "6to4 relay anycast address"),
    ("192.168.0.0/16", _PRIVATE),
    ("198.18.0.0/15", "benchmarking address"),
    ("198.51.100.0/24", "documentation address"),
    ("203.0.113.0/24", "documentation address"),
    ("224.0.0.0/4", "multicast address"),
    ("240.0.0.0/4", _PRIVATE),
    ("::/128", "unspecified address"),
    ("::1/128", "loopback address"),
    ("::/96", "IPv4-compatible address (deprecated)"),
    ("::ffff:0:0:0/96", "IPv4-translated address"),
    ("64:ff9b:1::/48", "local-use NAT64 address"),
    ("100::/64", "discard-only address"),
    ("2001::/32", "Teredo tunnel address"),
    ("2001:2::/48", "benchmarking address"),
    ("2001:10::/28", "ORCHID address"),
    ("2001:20::/28", "ORCHIDv2 address"),
    ("2001:db8::/32", "documentation address"),
    ("3fff::/20", "documentation address"),
    ("5f00::/16", "segment-routing SID"),
    ("fc00::/7", _PRIVATE),
    ("fe80::/10", "link-local address"),
    ("fec0::/10", "site-local address (deprecated)"),
    ("ff00::/8", "multicast address"),
)


class SSRFError(DeliveryError):
    """A webhook URL points at an address the guard refuses."""


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address a 6to4 or NAT64 (well-known prefix) address leads to, by kind."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address in _6TO4:
        return "6to4", ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF)
    if address in _NAT64:
        return "NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _flag_refusal(address: IPAddress) -> str | None:
    """The stdlib's view, for anything the table does not name."""
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_multicast:
        return "multicast address"
    if address.is_unspecified:
        return "unspecified address"
    if address.is_private or address.is_reserved or not address.is_global:
        return _PRIVATE
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses webhooks may reach: public ones, plus ``allow`` networks.

    Order of the checks: metadata addresses (also inside 6to4/NAT64) are always refused;
    then an allow-listed address is accepted; a 6to4/NAT64 address is judged by the IPv4
    address it embeds; then the deny table, then the stdlib's flags.
    """

    allow: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_strings(cls, networks: Iterable[str]) -> AddressPolicy:
        """A policy allowing the CIDRs in ``networks`` (``Settings.webhook_allow_networks``)."""
        return cls(allow=tuple(ipaddress.ip_network(text, strict=False) for text in networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or ``None`` when it may be connected to."""
        address = _unwrap(address)
        embedded = embedded_ipv4(address)
        if address in METADATA_ADDRESSES or (
            embedded is not None and embedded[1] in METADATA_ADDRESSES
        ):
            return "cloud metadata address"
        if any(address in network for network in self.allow):
            return None
        if embedded is not None:
            # Judged without the allow-list: it names networks reached directly, and
            # these packets leave through a tunnel relay or a translator instead.
            kind, inner = embedded
            reason = _DEFAULT.refusal(inner)
            return None if reason is None else f"{kind} address embedding {inner}: {reason}"
        for network, reason in DENY_TABLE:
            if address in network:
                return reason
        return _flag_refusal(address)

    def check(self, host: str, addresses: Sequence[IPAddress]) -> IPAddress:
        """The first allowed address of ``host``; :class:`SSRFError` when any is refused.

        Refusing when *any* answer is bad (not only all) stops a name that mixes a public
        and a private address from being used to reach the private one.
        """
        if not addresses:
            raise SSRFError(f"{host} did not resolve")
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                raise SSRFError(f"refused {host} -> {address}: {reason}")
        return addresses[0]


_DEFAULT = AddressPolicy()


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (IP literals resolve to themselves)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen
