"""The HTTP client of a marketplace: every outgoing marketplace call goes through here.

Its job is to turn whatever happens on the wire into a result or one error of the
``MarketplaceError`` tree (see ``marketsync.errors``), so callers decide by type:

    401/403                                   AuthError
    429 {"error": "duplicate_request"}        DuplicateRequestError
    other 429                                 RateLimitError(retry_after from Retry-After)
    no HTTP answer (connection, timeout)      TransportError
    any other status, or a malformed body     MarketplaceResponseError(status)

The store's access token travels in ``X-Access-Token``; it never appears in an error
message. Redirects are not followed, so neither the token nor the Basic Auth
credentials can be handed to another host; a 3xx is a MarketplaceResponseError.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn
from urllib.parse import quote

import aiohttp

from marketsync.config import MARKETPLACES, Settings
from marketsync.errors import (
    AuthError,
    DuplicateRequestError,
    MarketplaceResponseError,
    RateLimitError,
    TransportError,
)
from marketsync.retry_after import parse_retry_after


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """A receipt the marketplace answered for; the order fields are set when valid."""

    valid: bool
    order_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    imported_at: datetime | None = None


def canonical_inventory_body(items: list[dict[str, Any]]) -> bytes:
    """The exact bytes ``push_inventory`` sends: callers hash them to deduplicate, and
    the marketplace deduplicates on them too, so equal items must give equal bytes."""
    body = json.dumps({"items": items}, separators=(",", ":"), sort_keys=True, allow_nan=False)
    return body.encode()


class MarketplaceClient:
    """Calls the marketplaces at ``base_url`` (``{base_url}/{marketplace}/…``).

    One instance per process is enough: it holds no per-call state, and the aiohttp
    session (owned by the caller) pools the connections.
    """

    def __init__(
        self, session: aiohttp.ClientSession, *, base_url: str, settings: Settings
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=settings.marketplace_timeout_s)
        self._authorization = {
            name: aiohttp.encode_basic_auth(*settings.marketplace_credentials(name))
            for name in MARKETPLACES
        }

    async def validate_receipt(
        self, *, marketplace: str, access_token: str, receipt: str, currency: str | None
    ) -> ValidationResult:
        payload = {"receipt": receipt}
        if currency is not None:
            payload["currency"] = currency
        status, content = await self._call(
            "POST", marketplace, "validate", access_token, body=json.dumps(payload).encode()
        )
        return _validation_result(status, content)

    async def push_inventory(
        self, *, marketplace: str, access_token: str, items: list[dict[str, Any]]
    ) -> str:
        """Sends ``canonical_inventory_body(items)``; returns the batchRequestId."""
        status, content = await self._call(
            "POST", marketplace, "inventory", access_token, body=canonical_inventory_body(items)
        )
        payload = _json(status, content)
        batch_request_id = payload.get("batchRequestId") if isinstance(payload, dict) else None
        if not isinstance(batch_request_id, str) or not batch_request_id:
            _malformed(status)
        return batch_request_id

    async def get_inventory_batch(
        self, *, marketplace: str, access_token: str, batch_request_id: str
    ) -> dict[str, Any]:
        path = f"inventory/batch/{quote(batch_request_id, safe='')}"
        status, content = await self._call("GET", marketplace, path, access_token)
        payload = _json(status, content)
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("batchRequestId"), str)
            or not isinstance(payload.get("items"), list)
        ):
            _malformed(status)
        return payload

    async def _call(
        self,
        method: str,
        marketplace: str,
        path: str,
        access_token: str,
        *,
        body: bytes | None = None,
    ) -> tuple[int, bytes]:
        """One request; returns (status, body) of a 2xx answer, raises for anything else."""
        name = marketplace.lower()
        authorization = self._authorization.get(name)
        if authorization is None:
            raise ValueError(f"unknown marketplace {marketplace!r}")
        headers = {
            "Authorization": authorization,
            "X-Access-Token": access_token,
            "Accept": "application/json",
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method,
                f"{self._base_url}/{name}/{path}",
                data=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            raise  # a configuration mistake, not something a retry can fix
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(f"no answer from {name} ({type(exc).__name__})") from exc
        if not 200 <= status < 300:
            _raise_for_status(name, status, content, retry_after)
        return status, content


def _raise_for_status(
    marketplace: str, status: int, content: bytes, retry_after: str | None
) -> NoReturn:
    if status in (401, 403):
        raise AuthError(f"{marketplace} refused the credentials (HTTP {status})")
    if status == 429:
        if _error_code(content) == "duplicate_request":
            raise DuplicateRequestError(f"{marketplace} saw this body within its dedup window")
        raise RateLimitError(
            f"{marketplace} rate limit", retry_after=parse_retry_after(retry_after)
        )
    raise MarketplaceResponseError(f"unexpected HTTP {status} from {marketplace}", status=status)


def _validation_result(status: int, content: bytes) -> ValidationResult:
    payload = _json(status, content, parse_float=Decimal)
    if not isinstance(payload, dict) or not isinstance(payload.get("status"), bool):
        _malformed(status)
    if payload["status"] is False:
        return ValidationResult(valid=False)
    order_id = payload.get("orderId")
    amount = _decimal(payload.get("amount"))
    currency = payload.get("currency")
    imported_at = _utc_datetime(payload.get("importedAtUTC"))
    if (
        not isinstance(order_id, str)
        or not order_id
        or amount is None
        or not isinstance(currency, str)
        or imported_at is None
    ):
        _malformed(status)
    return ValidationResult(
        valid=True, order_id=order_id, amount=amount, currency=currency, imported_at=imported_at
    )


def _decimal(value: object) -> Decimal | None:
    """An amount sent as a JSON number or a decimal string; None when it is neither."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _utc_datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _json(status: int, content: bytes, *, parse_float: Callable[[str], Any] = float) -> Any:
    try:
        return json.loads(content, parse_float=parse_float, parse_constant=_refuse_constant)
    except ValueError:
        _malformed(status)


def _error_code(content: bytes) -> object:
    """The ``error`` of a JSON error body, which tells a dedup refusal from a rate limit."""
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    return payload.get("error") if isinstance(payload, dict) else None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _malformed(status: int) -> NoReturn:
    raise MarketplaceResponseError("malformed answer from the marketplace", status=status)
