"""The SSRF guard's address table, range by range, against the IANA registries.

The ranges below are this test's own copy of the IANA IPv4 and IPv6 Special-Purpose
Address Registries (entries not globally reachable), multicast and 240.0.0.0/4, so
the guard's table is checked against an independent list. For every range the first,
a middle and the last address are refused; the addresses just outside it are refused
only where they fall in another refused block, and allowed when they are global.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from marketsync.errors import WebhookTargetError
from marketsync.webhooks.guard import (
    GuardedResolver,
    RefusedTargetError,
    check_target_at_registration,
    is_refused_address,
)

IPV4_RANGES = [
    "0.0.0.0/8",
    "0.0.0.0/32",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.170/32",
    "192.0.0.171/32",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.88.99.2/32",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
]
IPV6_RANGES = [
    "::/128",
    "::1/128",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001:2::/48",
    "2001:10::/28",
    "2001:db8::/32",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
]
_NETWORKS = [ipaddress.ip_network(block) for block in IPV4_RANGES + IPV6_RANGES]
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
# IPv6 blocks judged by the IPv4 address they carry (tested further down, by form).
_EMBEDDING = [ipaddress.IPv6Network(block) for block in ("2001::/32", "2002::/16", "::/96")]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embeds_ipv4(address: Address) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and any(
        address in block for block in _EMBEDDING
    )


def _expected_refused(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST:
        return True
    return any(address.version == net.version and address in net for net in _NETWORKS)


def _inside(block: str) -> list[str]:
    net = ipaddress.ip_network(block)
    middle = net.network_address + net.num_addresses // 2
    return [str(net.network_address), str(middle), str(net.broadcast_address)]


def _outside(block: str) -> list[str]:
    net = ipaddress.ip_network(block)
    top = 2**net.max_prefixlen - 1
    below = int(net.network_address) - 1
    above = int(net.broadcast_address) + 1
    return [str(ipaddress.ip_address(n)) for n in (below, above) if 0 <= n <= top]


INSIDE = [(block, address) for block in IPV4_RANGES + IPV6_RANGES for address in _inside(block)]
OUTSIDE = [
    (block, address)
    for block in IPV4_RANGES + IPV6_RANGES
    for address in _outside(block)
    if not _embeds_ipv4(ipaddress.ip_address(address))  # ::1's neighbour ::2 is ::0.0.0.2
]


@pytest.mark.parametrize(("block", "address"), INSIDE)
def test_every_address_of_a_refused_range_is_refused(block: str, address: str) -> None:
    assert is_refused_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(("block", "address"), OUTSIDE)
def test_neighbours_of_a_refused_range_are_allowed_when_global(block: str, address: str) -> None:
    ip = ipaddress.ip_address(address)

    assert is_refused_address(ip) is _expected_refused(ip)


def test_the_neighbour_table_does_allow_global_addresses() -> None:
    allowed = sorted(
        address for _, address in OUTSIDE if not _expected_refused(ipaddress.ip_address(address))
    )

    assert {"9.255.255.255", "11.0.0.0", "191.255.255.255", "192.0.1.0", "223.255.255.255"} <= set(
        allowed
    )
    assert {
        "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    } <= set(allowed)


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("192.0.0.192", True),  # inside 192.0.0.0/24; Python 3.11 calls it global
        ("192.0.0.9", True),  # PCP anycast: refused with its /24 (see the guard's note)
        ("192.0.0.10", True),
        ("192.88.99.1", True),
        ("3fff::1", True),  # Documentation since RFC 9637; Python 3.11 calls it global
        ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", True),
        ("5f00::1", True),
        ("2001:1::1", True),
        ("2001:3::1", True),
        ("2001:20::1", True),
        ("4000::1", True),  # outside 2000::/3: unallocated
        ("::ffff:0:808:808", True),  # IPv4-translated (SIIT), outside 2000::/3
        ("fe80::1%eth0", True),
        ("8.8.8.8", False),
        ("1.1.1.1", False),
        ("2001:4860:4860::8888", False),
        ("2606:4700:4700::1111", False),
        ("2001:200::1", False),
        ("2620:4f:8000::1", False),  # AS112 direct delegation: globally reachable
        ("3fff:1000::1", False),  # just past 3fff::/20
    ],
)
def test_named_addresses(address: str, refused: bool) -> None:
    assert is_refused_address(ipaddress.ip_address(address)) is refused


def _teredo(server: str, client: str) -> str:
    server_int = int(ipaddress.IPv4Address(server))
    client_obfuscated = ~int(ipaddress.IPv4Address(client)) & 0xFFFF_FFFF
    return str(
        ipaddress.IPv6Address(
            (0x2001_0000 << 96) | (server_int << 64) | (0x8000_F227 << 32) | client_obfuscated
        )
    )


def _embeddings(v4: str) -> list[tuple[str, str]]:
    n = int(ipaddress.IPv4Address(v4))
    return [
        ("mapped", str(ipaddress.IPv6Address((0xFFFF << 32) | n))),
        ("compatible", str(ipaddress.IPv6Address(n))),
        ("nat64 well-known", str(ipaddress.IPv6Address((0x64_FF9B << 96) | n))),
        ("nat64 local-use", str(ipaddress.IPv6Address((0x64_FF9B_0001 << 80) | n))),
        (
            "nat64 local-use subnet",
            str(ipaddress.IPv6Address((0x64_FF9B_0001_ABCD << 64) | n)),
        ),
        ("6to4", str(ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | 1))),
        ("teredo client", _teredo("65.54.227.120", v4)),
        ("teredo server", _teredo(v4, "8.8.4.4")),
    ]


EMBEDDED_REFUSED = [
    (f"{form} {block}", address)
    for block in IPV4_RANGES
    for v4 in _inside(block)
    for form, address in _embeddings(v4)
]
EMBEDDED_ALLOWED = [
    (f"{form} {v4}", address)
    for v4 in ("8.8.8.8", "1.1.1.1", "93.184.216.34")
    for form, address in _embeddings(v4)
]


@pytest.mark.parametrize(("form", "address"), EMBEDDED_REFUSED)
def test_ipv6_forms_carrying_a_refused_ipv4_are_refused(form: str, address: str) -> None:
    assert is_refused_address(ipaddress.ip_address(address)) is True


@pytest.mark.parametrize(("form", "address"), EMBEDDED_ALLOWED)
def test_ipv6_forms_carrying_a_global_ipv4_are_allowed(form: str, address: str) -> None:
    assert is_refused_address(ipaddress.ip_address(address)) is False


@pytest.mark.parametrize(
    "url",
    ["http://192.0.0.192/hook", "https://[3fff::1]/hook", "https://[64:ff9b:1::a9fe:a9fe]/"],
)
async def test_registration_refuses_what_python_calls_global(url: str) -> None:
    with pytest.raises(WebhookTargetError) as caught:
        await check_target_at_registration(url, allow_private=False)

    assert caught.value.code == "PRIVATE_TARGET"


async def test_registration_allows_them_when_private_targets_are_allowed() -> None:
    await check_target_at_registration("http://192.0.0.192/hook", allow_private=True)
    await check_target_at_registration("https://[3fff::1]/hook", allow_private=True)


class _Answer(AbstractResolver):
    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=self.address,
                port=port,
                family=socket.AF_INET6 if ":" in self.address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize("address", ["192.0.0.192", "3fff::1", "198.18.0.1", "64:ff9b::a00:1"])
async def test_send_time_resolver_refuses_the_same_table(address: str) -> None:
    with pytest.raises(RefusedTargetError):
        await GuardedResolver(_Answer(address)).resolve("hooks.example", 443)


async def test_send_time_resolver_passes_a_global_answer() -> None:
    results = await GuardedResolver(_Answer("2001:4860:4860::8888")).resolve("hooks.example", 443)

    assert [result["host"] for result in results] == ["2001:4860:4860::8888"]
