"""The mock marketplace: the contract's "Mock marketplace", served by the API at /mock.

Routes, relative to where the app is mounted; marketplace names match case-insensitively:

    POST   /{marketplace}/validate              {"receipt", "currency"?} → an order, or not
    POST   /{marketplace}/inventory             {"items": [...]} → {"batchRequestId"}
    GET    /{marketplace}/inventory/batch/{id}  the batch's per-item outcome

Test helpers, outside any real marketplace and without authentication:

    GET    /_calls    {"validate": {"etsy/R123": 2}, "inventory": {"etsy": 1}, "batch": {"etsy": 3}}
    DELETE /_calls    resets those counters (204)

The counters count authenticated calls (validate ones also need a well-formed body),
so a test can assert that a marketplace was, or was not, reached.

Every piece of state (batches, dedup keys, counters) lives in the Redis client passed
in, under ``mock:`` keys with a TTL, never in Python memory: several API processes
may serve the mock behind one address. ``validate`` is benchmarked, so it costs one
pipelined Redis round trip.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any, NoReturn

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marketsync.config import MARKETPLACES, Settings
from marketsync.marketplaces.rules import (
    ValidationOutcome,
    inventory_item_failures,
    order_amount,
    order_id,
    validation_outcome,
)

MAX_INVENTORY_ITEMS = 1000
DEDUP_WINDOW_S = 15 * 60
BATCH_TTL_S = 24 * 60 * 60
COUNTER_TTL_S = 24 * 60 * 60  # refreshed on every call, so only idle counters expire
VALIDATE_MAX_BODY = 64 * 1024
INVENTORY_MAX_BODY = 8 * 1024 * 1024
CALL_KINDS = ("validate", "inventory", "batch")


def build_mock_app(*, settings: Settings, redis: Redis) -> Starlette:
    """The mock as an ASGI app of its own, meant to be mounted at ``/mock``."""
    mock = _MockMarketplace(settings=settings, redis=redis)
    routes = [
        Route("/_calls", mock.calls, methods=["GET"]),
        Route("/_calls", mock.reset_calls, methods=["DELETE"]),
        Route(
            "/{marketplace}/validate",
            mock.validate,
            methods=["POST"],
            max_body_size=VALIDATE_MAX_BODY,
        ),
        Route(
            "/{marketplace}/inventory",
            mock.push_inventory,
            methods=["POST"],
            max_body_size=INVENTORY_MAX_BODY,
        ),
        Route("/{marketplace}/inventory/batch/{batch_id}", mock.get_batch, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            _UnknownMarketplaceError: _unknown_marketplace,
            _UnauthorizedError: _unauthorized,
            HTTPException: _http_error,
        },
    )


class _UnknownMarketplaceError(Exception):
    pass


class _UnauthorizedError(Exception):
    def __init__(self, marketplace: str) -> None:
        super().__init__(marketplace)
        self.marketplace = marketplace


class _MockMarketplace:
    def __init__(self, *, settings: Settings, redis: Redis) -> None:
        self._redis = redis
        self._credentials: dict[str, tuple[bytes, bytes]] = {}
        for name in MARKETPLACES:
            user, password = settings.marketplace_credentials(name)
            self._credentials[name] = (user.encode(), password.encode())

    async def validate(self, request: Request) -> Response:
        marketplace = self._authenticate(request)
        payload = _loads_object(await request.body())
        receipt = payload.get("receipt") if payload else None
        currency = payload.get("currency") if payload else None
        if not isinstance(receipt, str) or not isinstance(currency, str | None):
            return _error(400, "invalid_body")
        await self._count("validate", f"{marketplace}/{receipt}")

        outcome = validation_outcome(receipt)
        if outcome is ValidationOutcome.RATE_LIMITED:
            return _error(429, "rate_limited")
        if outcome is ValidationOutcome.INVALID:
            return JSONResponse({"status": False})
        imported_at = datetime.now(UTC).isoformat(timespec="milliseconds")
        return JSONResponse(
            {
                "status": True,
                "orderId": order_id(marketplace, receipt),
                "amount": str(order_amount(receipt)),
                "currency": currency or "USD",
                "importedAtUTC": imported_at.replace("+00:00", "Z"),
            }
        )

    async def push_inventory(self, request: Request) -> Response:
        marketplace = self._authenticate(request)
        await self._count("inventory", marketplace)
        body = await request.body()
        payload = _loads_object(body)
        items = payload.get("items") if payload else None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return _error(400, "invalid_body")
        if len(items) > MAX_INVENTORY_ITEMS:
            return _error(400, "too_many_items")

        dedup_key = f"mock:inventory:dedup:{marketplace}:{hashlib.sha256(body).hexdigest()}"
        if not await self._redis.set(dedup_key, b"1", nx=True, ex=DEDUP_WINDOW_S):
            return _error(429, "duplicate_request")
        batch_id = str(uuid.uuid4())
        await self._redis.set(
            _batch_key(marketplace, batch_id), _batch_document(batch_id, items), ex=BATCH_TTL_S
        )
        return JSONResponse({"batchRequestId": batch_id})

    async def get_batch(self, request: Request) -> Response:
        marketplace = self._authenticate(request)
        await self._count("batch", marketplace)
        document = await self._redis.get(_batch_key(marketplace, request.path_params["batch_id"]))
        if document is None:
            return _error(404, "batch_not_found")
        return Response(document, media_type="application/json")

    async def calls(self, request: Request) -> Response:
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind in CALL_KINDS:
                pipe.hgetall(_counter_key(kind))
            counters = await pipe.execute()
        return JSONResponse(
            {
                kind: {_text(field): int(count) for field, count in counter.items()}
                for kind, counter in zip(CALL_KINDS, counters, strict=True)
            }
        )

    async def reset_calls(self, request: Request) -> Response:
        await self._redis.delete(*(_counter_key(kind) for kind in CALL_KINDS))
        return Response(status_code=204)

    def _authenticate(self, request: Request) -> str:
        """The path's marketplace, lower-cased, once its Basic Auth credentials match."""
        marketplace = str(request.path_params["marketplace"]).lower()
        expected = self._credentials.get(marketplace)
        if expected is None:
            raise _UnknownMarketplaceError
        if not _basic_auth_matches(request.headers.get("authorization", ""), expected):
            raise _UnauthorizedError(marketplace)
        return marketplace

    async def _count(self, kind: str, field: str) -> None:
        key = _counter_key(kind)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(key, field, 1)
            pipe.expire(key, COUNTER_TTL_S)
            await pipe.execute()


def _batch_document(batch_id: str, items: list[dict[str, Any]]) -> bytes:
    """The batch's answer, computed once at push time: the rules are pure."""
    results = []
    for item in items:
        reasons = inventory_item_failures(item)
        results.append(
            {
                "requestItem": item,
                "status": "FAILED" if reasons else "SUCCESS",
                "failureReasons": reasons,
            }
        )
    document = {
        "batchRequestId": batch_id,
        "items": results,
        "itemCount": len(results),
        "failedItemCount": sum(1 for result in results if result["status"] == "FAILED"),
        "batchRequestType": "ProductInventoryUpdate",
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _loads_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None; NaN and Infinity are not JSON."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _basic_auth_matches(header: str, expected: tuple[bytes, bytes]) -> bool:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    user, separator, password = decoded.partition(b":")
    user_ok = hmac.compare_digest(user, expected[0])
    password_ok = hmac.compare_digest(password, expected[1])
    return bool(separator) and user_ok and password_ok


def _batch_key(marketplace: str, batch_id: str) -> str:
    return f"mock:inventory:batch:{marketplace}:{batch_id}"


def _counter_key(kind: str) -> str:
    return f"mock:calls:{kind}"


def _text(value: bytes | str) -> str:
    """Redis answers bytes or str depending on the client's decode_responses."""
    return value.decode() if isinstance(value, bytes) else value


def _error(status: int, code: str) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status)


async def _unknown_marketplace(request: Request, exc: Exception) -> Response:
    return _error(404, "unknown_marketplace")


async def _unauthorized(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _UnauthorizedError)
    response = _error(401, "unauthorized")
    response.headers["WWW-Authenticate"] = f'Basic realm="mock-{exc.marketplace}"'
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (404, 405) answer JSON like the rest of the mock."""
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else "http_error"
    return JSONResponse({"error": code}, status_code=exc.status_code, headers=exc.headers)
