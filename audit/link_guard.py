"""The SSRF guard of live link checks, and the connection pools that go through it.

Every connection goes through ``GuardedBackend``, which resolves the host itself, refuses the connection if
*any* resolved address is not globally routable (private, loopback, link-local, shared, reserved,
multicast, and IPv6 forms that embed such an IPv4 address), and then connects to the vetted address, so a
DNS answer cannot change between the check and the connect. Redirect hops open their own connections and
are vetted the same way, whatever the pacing. ``allow_private=True`` turns the guard off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from audit.link_policy import LinkPolicy

__all__ = ["HostPools", "TargetRefused", "is_ip_literal", "is_live_candidate", "is_public_address"]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: any RFC 6052 prefix length inside
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible form, ::a.b.c.d


class TargetRefused(httpcore.ConnectError):
    """Raised by the guard when a target resolves to an address it may not connect to."""


def is_public_address(address: str) -> bool:
    """True when the IP address is globally routable, and so is every IPv4 address it embeds.

    IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, 6to4 2002::/16,
    NAT64 64:ff9b::/96 and the local-use 64:ff9b:1::/48) reach that IPv4 host through a translator or
    tunnel, so they are judged by it: ``::7f00:1`` is loopback.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return all(a.is_global and not a.is_multicast for a in (ip, *_embedded(ip)))


def _embedded(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address may stand for (none for an IPv4 address or a plain IPv6 one)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _NAT64 or (ip in _COMPATIBLE and int(ip) > 1):  # :: and ::1 are themselves, not IPv4
        return [low32]
    if ip in _LOCAL_NAT64:
        # the operator picks the prefix length (RFC 6052 section 2.2): every reading must be public
        return [low32, *(_rfc6052(int(ip), length) for length in (48, 56, 64))]
    return []


def _rfc6052(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address in an IPv6 address under an RFC 6052 prefix of 48, 56 or 64 bits (skipping bits 64-71)."""
    octets = value.to_bytes(16, "big")
    start = prefix_length // 8
    picked = [octets[i] for i in range(start, 16) if i != 8][:4]
    return ipaddress.IPv4Address(bytes(picked))


def is_live_candidate(syntax_ok: bool, syntax_error_code: str | None, host: str | None) -> bool:
    """Whether a link goes to the live check: it passed the offline checks, or failed them only by being an IP.

    An IP-literal link keeps its offline "no registrable domain" finding; live, it is fetched with
    ``allow_private`` and refused without a request otherwise.
    """
    return syntax_ok or (syntax_error_code == "no-registrable-domain" and is_ip_literal(host or ""))


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that resolves, vets every address, and connects only to a vetted address."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        refused = [a for a in addresses if not is_public_address(a)]
        if refused and not self._allow_private:
            raise TargetRefused(f"{host} resolves to non-public address {refused[0]}")
        failure: Exception = httpcore.ConnectError(f"{host}: no address to connect to")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("unix sockets are never link targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """Every address the host resolves to, in resolver order, without duplicates."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
    except TimeoutError as exc:
        raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedTransport(httpx.AsyncHTTPTransport):
    # not a plain transport: httpx has no parameter for the network backend, so the pool is rebuilt
    def __init__(self, *, backend: GuardedBackend, ssl_context: ssl.SSLContext, max_connections: int) -> None:
        super().__init__(verify=ssl_context, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=backend,
        )


class HostPools(httpx.AsyncBaseTransport):
    # not a dataclass: one guarded pool per host. httpcore scans every connection of a pool for each
    # request, so one shared pool over 100 hosts cost more CPU than the requests themselves
    def __init__(self, *, allow_private: bool, policy: LinkPolicy) -> None:
        self._backend = GuardedBackend(allow_private=allow_private)
        self._ssl = httpx.create_ssl_context(trust_env=False)  # loading the CA bundle once: ~50 ms each
        self._policy = policy
        self._pools: dict[str, _GuardedTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the pool of the request's host, opened on first use."""
        host = request.url.host.lower()
        if host not in self._pools:
            limit = self._policy.limits_for(host).concurrency
            self._pools[host] = _GuardedTransport(
                backend=self._backend, ssl_context=self._ssl, max_connections=limit
            )
        return await self._pools[host].handle_async_request(request)

    async def release(self, host: str) -> None:
        """Close the host's connections (its URLs are done), so idle sockets do not pile up over many hosts."""
        if (pool := self._pools.pop(host.lower(), None)) is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        """Close every pool."""
        for host in list(self._pools):
            await self.release(host)
