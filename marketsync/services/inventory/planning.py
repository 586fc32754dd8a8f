"""Planning a push: diff against the confirmed state, chunk, hash, dedup keys.

A chunk's body is the exact bytes the marketplace client sends, and its ``bodyHash``
their sha256, so the same items give the same hash whatever their order in the
request. Dedup is per (store, bodyHash, effective write or not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from marketsync.marketplaces.client import canonical_inventory_body
from marketsync.services.inventory.items import InventoryItem


@dataclass(frozen=True, slots=True)
class PlannedChunk:
    index: int
    items: tuple[InventoryItem, ...]
    body_hash: str


def select_changed(
    items: Iterable[InventoryItem], confirmed: Mapping[str, InventoryItem], *, force: bool
) -> tuple[list[InventoryItem], int]:
    """(items to send, number skipped because they equal the confirmed state)."""
    candidates = list(items)
    if force:
        return candidates, 0
    changed = [item for item in candidates if confirmed.get(item.barcode) != item]
    return changed, len(candidates) - len(changed)


def chunk_body(items: Iterable[InventoryItem]) -> bytes:
    """The bytes the marketplace client sends for these items (in this order)."""
    return canonical_inventory_body([item.wire() for item in items])


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def chunk_items(items: Iterable[InventoryItem], size: int) -> list[PlannedChunk]:
    """Items sorted by barcode, cut into chunks of ``size`` (0-based indexes)."""
    ordered = sorted(items, key=lambda item: item.barcode)
    chunks: list[PlannedChunk] = []
    for index, start in enumerate(range(0, len(ordered), size)):
        part = tuple(ordered[start : start + size])
        chunks.append(PlannedChunk(index, part, body_hash(chunk_body(part))))
    return chunks


def is_write_effective(
    *, dry_run: bool, force_write: bool, write_enabled: bool, force_write_allowed: bool
) -> bool:
    return not dry_run and (write_enabled or (force_write and force_write_allowed))


def dedup_key(store_id: object, hash_hex: str, write_effective: bool) -> str:
    return f"marketsync:inventory:dedup:{store_id}:{hash_hex}:{int(write_effective)}"
