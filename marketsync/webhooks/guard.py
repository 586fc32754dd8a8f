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

# What we refuse, by table rather than by ``ipaddress``'s properties: Python 3.11's
# tables lag the registries (it calls 192.0.0.192 and 3fff::1 global).
#
# From the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890), read
# 2026-12 (the IPv6 registry's last update is dated 2025-10-09): every entry whose
# "Globally Reachable" is False, and the deprecated entries whose booleans were
# removed. Where the registry marks a smaller block inside a refused one as globally
# reachable (192.0.0.9/32 PCP and 192.0.0.10/32 TURN anycast; 2001:1::1-3/128,
# 2001:3::/32 AMT, 2001:4:112::/48 AS112, 2001:20::/28 ORCHIDv2, 2001:30::/28 DETs)
# we refuse it all the same: anycast protocol services and non-routable identifiers
# are never a webhook receiver. Multicast comes from the IPv4 and IPv6 Multicast
# Address Space registries; fec0::/10 (site-local, deprecated by RFC 3879) from the
# IPv6 Address Space registry.
REFUSED_IPV4: Final = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "This network" (RFC 791); holds 0.0.0.0/32 "This host"
        "10.0.0.0/8",  # Private-Use (RFC 1918)
        "100.64.0.0/10",  # Shared Address Space (RFC 6598)
        "127.0.0.0/8",  # Loopback (RFC 1122)
        "169.254.0.0/16",  # Link Local (RFC 3927)
        "172.16.0.0/12",  # Private-Use (RFC 1918)
        "192.0.0.0/24",  # IETF Protocol Assignments (RFC 6890), with:
        "192.0.0.0/29",  # IPv4 Service Continuity Prefix (RFC 7335)
        "192.0.0.8/32",  # IPv4 dummy address (RFC 7600)
        "192.0.0.170/31",  # NAT64/DNS64 Discovery, .170 and .171 (RFC 7050, RFC 8880)
        "192.0.2.0/24",  # Documentation, TEST-NET-1 (RFC 5737)
        "192.88.99.0/24",  # Deprecated 6to4 Relay Anycast (RFC 7526); holds 6a44 .2/32
        "192.168.0.0/16",  # Private-Use (RFC 1918)
        "198.18.0.0/15",  # Benchmarking (RFC 2544)
        "198.51.100.0/24",  # Documentation, TEST-NET-2 (RFC 5737)
        "203.0.113.0/24",  # Documentation, TEST-NET-3 (RFC 5737)
        "224.0.0.0/4",  # Multicast (RFC 5771)
        "240.0.0.0/4",  # Reserved (RFC 1112)
        "255.255.255.255/32",  # Limited Broadcast (RFC 919)
    )
)
REFUSED_IPV6: Final = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "::/128",  # Unspecified Address (RFC 4291)
        "::1/128",  # Loopback Address (RFC 4291)
        "100::/64",  # Discard-Only Address Block (RFC 6666)
        "100:0:0:1::/64",  # Dummy IPv6 Prefix (RFC 9780)
        "2001::/23",  # IETF Protocol Assignments (RFC 2928), with:
        "2001:2::/48",  # Benchmarking (RFC 5180)
        "2001:10::/28",  # Deprecated, previously ORCHID (RFC 4843)
        "2001:db8::/32",  # Documentation (RFC 3849)
        "3fff::/20",  # Documentation (RFC 9637)
        "5f00::/16",  # Segment Routing (SRv6) SIDs (RFC 9602)
        "fc00::/7",  # Unique-Local (RFC 4193, RFC 8190)
        "fe80::/10",  # Link-Local Unicast (RFC 4291)
        "fec0::/10",  # Site-local, deprecated (RFC 3879)
        "ff00::/8",  # Multicast (RFC 4291)
    )
)
#: The only IPv6 space IANA hands out for global unicast; the rest is "Reserved by
#: IETF" in the IPv6 Address Space registry (or one of the blocks above).
GLOBAL_UNICAST_IPV6: Final = ipaddress.IPv6Network("2000::/3")

# IPv6 forms that carry an IPv4 address, judged by that address. The registry lists
# ::ffff:0:0/96 and 64:ff9b:1::/48 as not globally reachable, and 2001::/32 (Teredo)
# and 2002::/16 (6to4) as "N/A": a packet to them ends up at the IPv4 address inside.
_IPV4_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")  # RFC 4291
_IPV4_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")  # deprecated by RFC 4291
_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052
# RFC 8215's local-use prefix: operators carve a translation prefix out of it; we read
# the IPv4 address from the last 32 bits, the /96 layout of RFC 6052 section 2.2.
_NAT64_LOCAL_USE: Final = ipaddress.IPv6Network("64:ff9b:1::/48")


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


def _embedded_ipv4s(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...] | None:
    """The IPv4 addresses a packet to ``ip`` really ends up at, for forms that carry one."""
    if ip in _IPV4_MAPPED or ip in _IPV4_COMPATIBLE:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF),)
    if ip in _NAT64_WELL_KNOWN or ip in _NAT64_LOCAL_USE:
        return (ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo  # (server, client): the relay path needs both
    return None


def _is_refused_ipv4(ip: ipaddress.IPv4Address) -> bool:
    return any(ip in block for block in REFUSED_IPV4)


def _is_refused_ipv6(ip: ipaddress.IPv6Address) -> bool:
    return ip not in GLOBAL_UNICAST_IPV6 or any(ip in block for block in REFUSED_IPV6)


def is_refused_address(ip: IPAddress) -> bool:
    """Whether we refuse to connect to ``ip`` (see ``REFUSED_IPV4``/``REFUSED_IPV6``).

    IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are
    judged by that IPv4 address alone: ``::ffff:127.0.0.1`` is loopback and
    ``::ffff:8.8.8.8`` is 8.8.8.8. A Teredo address is refused if its server or its
    client address is.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _is_refused_ipv4(ip)
    embedded = _embedded_ipv4s(ip)
    if embedded is not None:
        return any(_is_refused_ipv4(address) for address in embedded)
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
