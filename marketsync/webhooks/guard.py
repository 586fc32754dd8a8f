"""Which webhook targets we refuse to call (the SSRF guard).

A tenant chooses the URL we POST to, so without a guard any tenant could make this
server talk to its own loopback, the private network or a cloud metadata service.
The guard runs twice:

* at registration (``check_target_at_registration``), so a bad URL is a userError;
* at every send, on the addresses the connection will actually use: the session's
  ``GuardedResolver`` vets each DNS answer before aiohttp connects to it, which leaves
  no window for DNS rebinding, and ``literal_address`` lets the sender vet IP-literal
  hosts, for which aiohttp never asks the resolver.

URLs are parsed with yarl, the parser aiohttp itself uses, so the host we judge is
the host aiohttp will connect to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from yarl import URL

from marketsync.errors import WebhookTargetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH: Final = 2048
REGISTRATION_RESOLVE_TIMEOUT_S: Final = 2.0
_SCHEMES: Final = frozenset({"http", "https"})

_CGNAT: Final = ipaddress.IPv4Network("100.64.0.0/10")
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")
_UNIQUE_LOCAL: Final = ipaddress.IPv6Network("fc00::/7")


class RefusedTargetError(OSError):
    """A send-time refusal. An ``OSError`` so that aiohttp treats it as a failed lookup."""


def validate_target_url(url: str) -> str:
    """Return ``url`` if it is an absolute http(s) URL we could call, else raise.

    Userinfo is refused because credentials have no place in a stored target URL (and
    ``user@host`` forms are a classic way to disguise the real host).
    """
    if len(url) > MAX_URL_LENGTH:
        raise WebhookTargetError("INVALID_URL", f"URL is longer than {MAX_URL_LENGTH} characters")
    if any(char.isspace() or not char.isprintable() for char in url):
        raise WebhookTargetError("INVALID_URL", "URL contains whitespace or control characters")
    try:
        parsed = URL(url)
        parsed.port  # noqa: B018  yarl checks the port range only when asked
    except ValueError as exc:
        raise WebhookTargetError("INVALID_URL", f"URL cannot be parsed: {exc}") from None
    if parsed.scheme not in _SCHEMES:
        raise WebhookTargetError("INVALID_URL", "URL scheme must be http or https")
    if not parsed.host:
        raise WebhookTargetError("INVALID_URL", "URL has no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise WebhookTargetError("INVALID_URL", "URL must not contain credentials")
    return url


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a packet to ``ip`` really ends up at, for the forms that carry one."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _IPV4_COMPATIBLE or ip in _NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _is_refused_ipv4(ip: ipaddress.IPv4Address) -> bool:
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _CGNAT
        # Catches the other special-purpose ranges (documentation, benchmarking, ...).
        or not ip.is_global
    )


def _is_refused_ipv6(ip: ipaddress.IPv6Address) -> bool:
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_site_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in _UNIQUE_LOCAL
        or not ip.is_global
    )


def is_refused_address(ip: IPAddress) -> bool:
    """Whether we refuse to connect to ``ip``.

    IPv6 forms that embed an IPv4 address (mapped, compatible, 6to4, NAT64) are judged
    by that IPv4 address alone: ``::ffff:127.0.0.1`` is loopback, while the IPv6 ranges
    these forms live in are "reserved" in ``ipaddress`` whatever they embed.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_refused_ipv4(ip)
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return _is_refused_ipv4(embedded)
    return _is_refused_ipv6(ip)


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` denotes if it is an IP literal, else ``None`` (a name).

    Besides what ``ipaddress`` parses, anything ``inet_aton`` accepts counts as IPv4
    (``2130706433``, ``0x7f000001``, ``127.1``), because the C resolver turns those
    into addresses instead of looking them up.
    """
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        pass
    if ":" in host:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


async def _resolve(host: str, port: int | None) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM),
        timeout=REGISTRATION_RESOLVE_TIMEOUT_S,
    )
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def check_target_at_registration(url: str, *, allow_private: bool) -> None:
    """Raise ``WebhookTargetError`` if ``url`` must not be registered.

    A name that does not resolve (or not within the timeout) is accepted: it may only
    exist later, and every send checks its addresses again.
    """
    parsed = URL(validate_target_url(url))
    if allow_private:
        return
    literal = literal_address(parsed.host or "")
    if literal is not None:
        if is_refused_address(literal):
            raise WebhookTargetError(
                "PRIVATE_TARGET", "URL points at a private or reserved address"
            )
        return
    try:
        addresses = await _resolve(parsed.raw_host or "", parsed.port)
    except (OSError, TimeoutError):
        return
    if any(is_refused_address(address) for address in addresses):
        raise WebhookTargetError(
            "PRIVATE_TARGET", "URL host resolves to a private or reserved address"
        )


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses a name if any of its addresses is refused.

    Refusing the whole answer (rather than filtering it) keeps the verdict the same as
    at registration. The error carries no address, so a tenant cannot use delivery
    errors to map what names resolve to inside our network.
    """

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            try:
                refused = is_refused_address(ipaddress.ip_address(result["host"]))
            except ValueError:
                refused = True
            if refused:
                raise RefusedTargetError(f"{host} resolves to a refused address")
        return results

    async def close(self) -> None:
        await self._inner.close()
