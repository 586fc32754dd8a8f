"""The SSRF guard. Only IP literals, ``localhost`` and ``.invalid`` names are used, so
no test resolves or reaches anything on the internet."""

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
    literal_address,
    validate_target_url,
)

REFUSED_URLS = [
    "http://127.0.0.1/hook",
    "http://localhost:8080/hook",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.255/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "https://[fe80::1]/hook",
    "https://[fec0::1]/hook",
    "https://[::127.0.0.1]/hook",
    "https://[64:ff9b::a00:1]/hook",
    "https://[2002:c0a8:101::]/hook",
]

INVALID_URLS = [
    "ftp://example.com/hook",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "http://",
    "http:///hook",
    "example.com/hook",
    "https://user:pass@example.com/hook",
    "https://user@example.com/hook",
    "https://exa mple.com/hook",
    "https://example.com/\nhook",
    "https://example.com:99999/hook",
    "http://[::1/hook",
    "http://evil.example\\@127.0.0.1/",
    "https://example.com/" + "a" * 2048,
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(WebhookTargetError) as caught:
        await check_target_at_registration(url, allow_private=False)

    assert caught.value.code == "PRIVATE_TARGET"


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "http://[2606:4700::1111]:8443/hook",
        "https://[::ffff:93.184.216.34]/hook",
        "https://[64:ff9b::5db8:d822]/hook",
    ],
)
async def test_public_ip_literals_are_accepted_without_dns(url: str) -> None:
    await check_target_at_registration(url, allow_private=False)


@pytest.mark.parametrize("url", INVALID_URLS)
async def test_invalid_urls_are_refused(url: str) -> None:
    with pytest.raises(WebhookTargetError) as caught:
        await check_target_at_registration(url, allow_private=False)

    assert caught.value.code == "INVALID_URL"


@pytest.mark.parametrize("url", INVALID_URLS)
async def test_invalid_urls_are_refused_even_when_private_targets_are_allowed(url: str) -> None:
    with pytest.raises(WebhookTargetError) as caught:
        await check_target_at_registration(url, allow_private=True)

    assert caught.value.code == "INVALID_URL"


async def test_allow_private_accepts_loopback() -> None:
    await check_target_at_registration("http://127.0.0.1:9/hook", allow_private=True)
    await check_target_at_registration("http://localhost/hook", allow_private=True)


async def test_name_that_does_not_resolve_is_accepted_at_registration() -> None:
    url = "https://nonexistent.invalid/hook"

    await check_target_at_registration(url, allow_private=False)


def test_validate_returns_the_url_unchanged() -> None:
    url = "https://Example.COM:8443/hooks/x?token=abc"

    assert validate_target_url(url) == url


def test_url_of_exactly_max_length_is_valid() -> None:
    prefix = "https://example.com/"
    url = prefix + "a" * (2048 - len(prefix))

    assert validate_target_url(url) == url


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.255.255.255", True),
        ("172.15.255.255", False),
        ("172.32.0.1", False),
        ("169.254.169.254", True),
        ("100.127.255.255", True),
        ("100.128.0.1", False),
        ("239.255.255.250", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("192.0.2.1", True),
        ("8.8.8.8", False),
        ("::", True),
        ("::1", True),
        ("fc00::1", True),
        ("fd12:3456::1", True),
        ("fe80::1", True),
        ("fe80::1%1", True),
        ("fec0::1", True),
        ("ff02::1", True),
        ("::ffff:169.254.169.254", True),
        ("::ffff:8.8.8.8", False),
        ("::10.0.0.1", True),
        ("64:ff9b::7f00:1", True),
        ("64:ff9b::808:808", False),
        ("2002:7f00:1::", True),
        ("2002:808:808::", False),
        ("2606:4700::1111", False),
    ],
)
def test_is_refused_address(address: str, refused: bool) -> None:
    assert is_refused_address(ipaddress.ip_address(address)) is refused


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
        ("example.com", None),
        ("localhost", None),
    ],
)
def test_literal_address(host: str, expected: str | None) -> None:
    literal = literal_address(host)

    assert (None if literal is None else str(literal)) == expected


class _FixedResolver(AbstractResolver):
    """Answers every lookup with the given addresses, like a DNS server we control."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.closed = False

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.addresses
        ]

    async def close(self) -> None:
        self.closed = True


async def test_guarded_resolver_passes_public_answers_through() -> None:
    resolver = GuardedResolver(_FixedResolver("93.184.216.34", "2606:4700::1111"))

    results = await resolver.resolve("hooks.example", 443)

    assert [result["host"] for result in results] == ["93.184.216.34", "2606:4700::1111"]


async def test_guarded_resolver_refuses_if_any_answer_is_refused() -> None:
    resolver = GuardedResolver(_FixedResolver("93.184.216.34", "10.0.0.7"))

    with pytest.raises(RefusedTargetError) as caught:
        await resolver.resolve("rebind.example", 443)

    assert "10.0.0.7" not in str(caught.value)


async def test_guarded_resolver_refuses_localhost_with_the_real_resolver() -> None:
    resolver = GuardedResolver()

    with pytest.raises(RefusedTargetError):
        await resolver.resolve("localhost", 80)


async def test_guarded_resolver_closes_its_inner_resolver() -> None:
    inner = _FixedResolver("93.184.216.34")

    await GuardedResolver(inner).close()

    assert inner.closed is True
