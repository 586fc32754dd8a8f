"""Identifiers: entity ids are UUID v7 (time-ordered); sync tokens are random v4."""

from __future__ import annotations

import uuid

import uuid6


def new_id() -> uuid.UUID:
    return uuid.UUID(int=uuid6.uuid7().int)


def new_sync_token() -> uuid.UUID:
    return uuid.uuid4()
