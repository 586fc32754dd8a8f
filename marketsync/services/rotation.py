"""Re-encrypt every secret at rest under the current SECRET_KEY (`marketsync rotate-secrets`).

Walks each encrypted column by primary key (keyset pagination, one transaction per
batch). A value already under the current key is left alone, so a second run changes
nothing. Each rewrite is conditional on the ciphertext still being the one read: a
row that the running service changed meanwhile is read again rather than overwritten.
A value no configured key decrypts is reported by table and id (never its content)
and left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.transactions import in_transaction

from marketsync.crypto import SecretBox, Vault
from marketsync.errors import UnreadableSecretError
from marketsync.models import Store, WebhookEndpoint

BATCH_SIZE = 500
_CONFLICT_RETRIES = 3
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class EncryptedColumn:
    model: type[Model]
    column: str
    box: Callable[[Vault], SecretBox]

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


ENCRYPTED_COLUMNS = (
    EncryptedColumn(Store, "access_token_encrypted", lambda vault: vault.store_tokens),
    EncryptedColumn(WebhookEndpoint, "secret_encrypted", lambda vault: vault.webhook_secrets),
)


@dataclass
class RotationReport:
    rotated: int = 0
    current: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (table, row id)
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # still changing: run again

    @property
    def ok(self) -> bool:
        return not self.unreadable and not self.conflicts


async def rotate_secrets(*, vault: Vault, batch_size: int = BATCH_SIZE) -> RotationReport:
    report = RotationReport()
    for column in ENCRYPTED_COLUMNS:
        after: Any = None
        while True:
            query = column.model.all() if after is None else column.model.filter(id__gt=after)
            rows = await query.order_by("id").limit(batch_size).values_list("id", column.column)
            if not rows:
                break
            async with in_transaction() as conn:
                for row_id, token in rows:
                    await rotate_row(
                        conn=conn,
                        column=column,
                        box=column.box(vault),
                        row_id=row_id,
                        token=token,
                        report=report,
                    )
            after = rows[-1][0]
    log.info(
        "secrets_rotated",
        rotated=report.rotated,
        current=report.current,
        unreadable=len(report.unreadable),
        conflicts=len(report.conflicts),
    )
    return report


async def rotate_row(
    *,
    conn: BaseDBAsyncClient,
    column: EncryptedColumn,
    box: SecretBox,
    row_id: Any,
    token: str,
    report: RotationReport,
) -> None:
    """Rotate the value read as ``token``; rewrite the row only if it still holds it."""
    for _ in range(_CONFLICT_RETRIES):
        if box.is_current(token):
            report.current += 1
            return
        try:
            rotated = box.rotate(token)
        except UnreadableSecretError:
            report.unreadable.append((column.table, str(row_id)))
            return
        changed = (
            await column.model.filter(id=row_id, **{column.column: token})
            .using_db(conn)
            .update(**{column.column: rotated})
        )
        if changed:
            report.rotated += 1
            return
        # Changed (or deleted) by the running service since it was read: look again.
        fresh = (
            await column.model.filter(id=row_id)
            .using_db(conn)
            .values_list(column.column, flat=True)
        )
        if not fresh:
            return
        token = str(fresh[0])
    report.conflicts.append((column.table, str(row_id)))
