"""The HTTP side every live adapter shares: one request, and the common outcome mapping.

``LiveHttp.send`` is the one place a live marketplace request leaves the process:

- it first takes a token from the rate budget (``budget.acquire(key)``);
- it never follows a redirect (a 3xx is an answer, so no credential goes elsewhere);
- no HTTP answer (connection refused or closed, timeout) is a TransportError whose
  text names the marketplace and the exception class, never a URL, header or token.

``raise_for_status`` maps what is left after an adapter has read its own special
answers: 401/403 AuthError, 429 RateLimitError(Retry-After), any other non-2xx
MarketplaceResponseError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

import aiohttp

from marketsync.errors import (
    AuthError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.retry_after import parse_retry_after


@dataclass(frozen=True, slots=True)
class Answer:
    marketplace: str
    status: int
    content: bytes
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON (floats as Decimal); a body that is not JSON is malformed."""
        try:
            return json.loads(self.content, parse_float=Decimal, parse_constant=_refuse)
        except ValueError:
            malformed(self)

    def json_or_none(self) -> Any:
        try:
            return json.loads(self.content, parse_float=Decimal, parse_constant=_refuse)
        except ValueError:
            return None


class LiveHttp:
    """Requests to live marketplaces over one pooled aiohttp session (owned by the caller)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout_s: float,
    ) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(
        self,
        method: str,
        url: str,
        *,
        marketplace: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        """One request; the caller has taken its token from the rate budget."""
        sent_headers = {"Accept": "application/json", **headers}
        data: bytes | aiohttp.FormData | None = body
        if body is not None:
            sent_headers.setdefault("Content-Type", "application/json")
        if form is not None:
            data = aiohttp.FormData(dict(form))
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                data=data,
                headers=sent_headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                return Answer(
                    marketplace=marketplace,
                    status=response.status,
                    content=content,
                    retry_after=response.headers.get("Retry-After"),
                )
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            raise  # a configuration mistake, not something a retry can fix
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"no answer from {marketplace} ({type(exc).__name__})") from exc


def raise_for_status(answer: Answer) -> None:
    """Nothing for a 2xx; else the error of the common mapping."""
    if answer.ok:
        return
    name = answer.marketplace
    if answer.status in (401, 403):
        raise AuthError(f"{name} refused the credentials (HTTP {answer.status})")
    if answer.status == 429:
        raise rate_limited(answer)
    raise MarketplaceResponseError(
        f"unexpected HTTP {answer.status} from {name}", status=answer.status
    )


def rate_limited(answer: Answer, retry_after: float | None = None) -> RateLimitError:
    delay = parse_retry_after(answer.retry_after)
    if delay is None:
        delay = retry_after
    return RateLimitError(f"{answer.marketplace} rate limit", retry_after=delay)


def malformed(answer: Answer) -> NoReturn:
    raise MarketplaceResponseError(
        f"malformed answer from {answer.marketplace}", status=answer.status
    )


def to_decimal(value: object) -> Decimal | None:
    """A JSON number or a decimal string; None when it is neither (or not finite)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _refuse(name: str) -> NoReturn:
    raise ValueError(name)
