"""The SSRF guard: webhooks may only reach public addresses, checked at connect time.

The check lives in an httpcore network backend, so the address that is vetted is the
address that is connected to: the host is resolved once, every address is checked, and
the socket is opened to the vetted IP literal (TLS still verifies the original host
name). A DNS answer that changes between check and connect (rebinding) cannot bypass it.
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

#: Cloud instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, Azure wire).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(text)
    for text in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)
ALLOWED_SCHEMES = frozenset({"http", "https"})


class SSRFError(DeliveryError):
    """A webhook URL points at an address the guard refuses."""


def _unwrap(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses webhooks may reach: public ones, plus ``allow`` networks."""

    allow: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_strings(cls, networks: Iterable[str]) -> AddressPolicy:
        """A policy allowing the CIDRs in ``networks`` (``Settings.webhook_allow_networks``)."""
        return cls(allow=tuple(ipaddress.ip_network(text, strict=False) for text in networks))

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or ``None`` when it may be connected to."""
        address = _unwrap(address)
        if any(address in network for network in self.allow):
            return None
        if address in METADATA_ADDRESSES:
            return "cloud metadata address"
        if address.is_loopback:
            return "loopback address"
        if address.is_link_local:
            return "link-local address"
        if address.is_multicast:
            return "multicast address"
        if address.is_unspecified:
            return "unspecified address"
        if address.is_private or address.is_reserved or not address.is_global:
            return "private or reserved address"
        return None

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


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that resolves, vets and connects to the vetted IP only."""

    def __init__(
        self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's backend interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to ``host`` only if every address it resolves to is allowed."""
        address = self._policy.check(host, await resolve(host, port))
        return await self._inner.connect_tcp(
            str(address),
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,  # noqa: ARG002
        timeout: float | None = None,  # noqa: ARG002, ASYNC109 (httpcore's backend interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,  # noqa: ARG002
    ) -> httpcore.AsyncNetworkStream:
        """Unix sockets are never a webhook target."""
        raise SSRFError("unix sockets are not allowed for webhooks")

    async def sleep(self, seconds: float) -> None:
        """Delegate to the wrapped backend."""
        await self._inner.sleep(seconds)
