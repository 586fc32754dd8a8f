"""testConnection: one cheap authenticated marketplace call for a store, recorded on it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from marketsync.errors import MarketplaceError
from marketsync.models import Store
from marketsync.models.enums import ConnectionStatus
from marketsync.runtime import Runtime
from marketsync.services.stores.registry import get_store

log = structlog.get_logger(__name__)
# A receipt no marketplace has: the answer proves the credentials, never imports an order.
PROBE_RECEIPT = "marketsync-connection-test"


def safe_error_text(error: BaseException) -> str:
    """What a tenant may read about a failure: the class and a safe message, no internals."""
    if isinstance(error, MarketplaceError):
        return f"{type(error).__name__}: the marketplace call failed ({error.error_detail})"
    return f"{type(error).__name__}: internal error; the service log has the details"


async def test_connection(*, rt: Runtime, store_id: uuid.UUID, organization_id: str) -> Store:
    """Makes the call before answering; the store's connection state records the outcome."""
    store = await get_store(store_id=store_id, organization_id=organization_id)
    now = datetime.now(UTC)
    changes: dict[str, Any] = {"conn_last_attempt_at": now, "conn_updated_at": now}
    try:
        await rt.marketplace.validate_receipt(
            marketplace=store.marketplace.value,
            access_token=rt.vault.store_tokens.decrypt(store.access_token_encrypted),
            receipt=PROBE_RECEIPT,
            currency=None,
        )
    except MarketplaceError as error:
        log.info("connection_test_failed", store_id=str(store.id), error=type(error).__name__)
        changes.update(
            conn_last_status=ConnectionStatus.FAILED, conn_last_error=safe_error_text(error)
        )
    else:
        changes.update(
            conn_last_status=ConnectionStatus.SUCCESS,
            conn_last_error=None,
            conn_last_success_at=now,
        )
    await Store.filter(id=store.id).update(**changes)
    await rt.publish_status(store.id)
    return await Store.get(id=store.id)
