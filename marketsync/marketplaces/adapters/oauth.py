"""The refresh-token exchange that Etsy and Amazon LWA share (OAuth 2.0, RFC 6749 §6).

``POST {token_url}`` with a form; the answer's ``access_token`` and ``expires_in``
make an IssuedToken, and a ``refresh_token`` that differs from the one sent is handed
to ``on_rotated``. A refused exchange (400 invalid_grant, 401 invalid_client, 403) is
an AuthError; 429 a RateLimitError; no answer a TransportError; anything else a
MarketplaceResponseError. The form, the tokens and the answer never reach a log or
an error text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from marketsync.errors import AuthError
from marketsync.marketplaces.adapters.http import LiveHttp, malformed, raise_for_status, to_decimal
from marketsync.marketplaces.tokens import IssuedToken

DEFAULT_EXPIRES_IN_S = 3600
OnRotated = Callable[[str], Awaitable[None]]


async def exchange_refresh_token(
    http: LiveHttp,
    *,
    marketplace: str,
    token_url: str,
    form: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
    on_rotated: OnRotated | None = None,
) -> IssuedToken:
    answer = await http.send(
        "POST",
        token_url,
        marketplace=marketplace,
        headers=headers or {},
        form=form,
    )
    if answer.status in (400, 401, 403):
        raise AuthError(f"{marketplace} refused the token exchange (HTTP {answer.status})")
    raise_for_status(answer)
    payload = answer.json()
    if not isinstance(payload, dict):
        malformed(answer)
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        malformed(answer)
    expires_in = to_decimal(payload.get("expires_in"))
    rotated = payload.get("refresh_token")
    rotated_ok = isinstance(rotated, str) and rotated and rotated != form.get("refresh_token")
    if on_rotated is not None and rotated_ok:
        await on_rotated(str(rotated))
    return IssuedToken(
        access_token=access_token,
        expires_in=float(expires_in) if expires_in is not None else DEFAULT_EXPIRES_IN_S,
    )
