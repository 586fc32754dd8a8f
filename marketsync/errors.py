"""The error root of marketsync.

    MarketsyncError
    ├── UserInputError(code, message, field)   a caller's mistake: becomes a userError
    ├── NotFoundError                           missing or foreign object: GraphQL NOT_FOUND
    ├── AuthenticationError                     no or bad API key: UNAUTHENTICATED
    ├── PermissionDeniedError                   another organization's input: FORBIDDEN
    ├── ConfigurationError                      the process cannot start as configured
    ├── ContentionError                         a race that did not settle after retries
    ├── LockLostError                           a leased lock expired under its holder
    ├── UnreadableSecretError                   a stored secret no configured key decrypts
    ├── MarketplaceError                        anything a marketplace call can raise
    │   ├── RateLimitError(retry_after)         429: retryable, after a delay
    │   ├── AuthError                           401/403: credentials refused
    │   ├── TransportError                      no HTTP answer (connection, timeout): retryable
    │   ├── MarketplaceResponseError            an answer that is no result (5xx, bad body)
    │   └── DuplicateRequestError               a body seen within the dedup window (inventory)
    └── WebhookTargetError                      a webhook URL we refuse to call (SSRF guard)

Retryability lives in the class (``retryable``), so callers decide by type, never
by message text. ``error_detail`` is the stable ``errorDetails`` value of a sync log.
"""

from __future__ import annotations


class MarketsyncError(Exception):
    """Root of every error this package raises on purpose."""


class UserInputError(MarketsyncError):
    def __init__(self, code: str, message: str, field: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class NotFoundError(MarketsyncError):
    code = "NOT_FOUND"


class AuthenticationError(MarketsyncError):
    code = "UNAUTHENTICATED"


class PermissionDeniedError(MarketsyncError):
    code = "FORBIDDEN"


class ConfigurationError(MarketsyncError):
    pass


class ContentionError(MarketsyncError):
    """Concurrent writers kept winning a race this call retried (an upsert, a claim)."""


class LockLostError(MarketsyncError):
    """A leased lock expired and may be held by another worker now."""


class UnreadableSecretError(MarketsyncError):
    """A ciphertext at rest that neither SECRET_KEY nor a fallback decrypts (no content kept)."""


class MarketplaceError(MarketsyncError):
    retryable = False
    error_detail = "marketplace_error"


class RateLimitError(MarketplaceError):
    retryable = True
    error_detail = "rate_limited"

    def __init__(self, message: str = "rate limited", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(MarketplaceError):
    error_detail = "auth_error"


class TransportError(MarketplaceError):
    retryable = True
    error_detail = "transport_error"


class MarketplaceResponseError(MarketplaceError):
    error_detail = "marketplace_error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class DuplicateRequestError(MarketplaceError):
    """The marketplace refused a body it saw within its dedup window (inventory)."""

    error_detail = "duplicate_request"


class WebhookTargetError(MarketsyncError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
