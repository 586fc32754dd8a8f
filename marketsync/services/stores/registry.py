"""Registering stores: an upsert on (organization, marketplace, external store id)."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from marketsync.crypto import SecretBox
from marketsync.errors import ContentionError, NotFoundError, UserInputError
from marketsync.marketplaces.credentials import check_credentials
from marketsync.models import Store
from marketsync.models.enums import Marketplace
from marketsync.services.currencies import normalize_currency

MAX_TEXT = 255
MAX_TOKEN = 4096


@dataclass(frozen=True)
class RegisteredStore:
    store: Store
    created: bool


def _required(value: str, name: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise UserInputError("INVALID_INPUT", f"{name} must not be empty", ["input", name])
    if len(cleaned) > limit:
        raise UserInputError(
            "INVALID_INPUT", f"{name} must be at most {limit} characters", ["input", name]
        )
    return cleaned


async def register_store(
    *,
    secret_box: SecretBox,
    organization_id: str,
    marketplace: Marketplace,
    external_store_id: str,
    store_name: str,
    access_token: str,
    currency: str,
    check_shape: bool = False,
) -> RegisteredStore:
    organization_id = _required(organization_id, "organizationId", MAX_TEXT)
    external_store_id = _required(external_store_id, "externalStoreId", MAX_TEXT)
    store_name = _required(store_name, "storeName", MAX_TEXT)
    access_token = _required(access_token, "accessToken", MAX_TOKEN)
    for name, message in check_credentials(marketplace, external_store_id, access_token):
        if check_shape:  # live mode: the marketplace would refuse this credential
            raise UserInputError("INVALID_INPUT", message, ["input", name])
    code = normalize_currency(currency)
    if code is None:
        raise UserInputError(
            "INVALID_CURRENCY", "currency must be an ISO 4217 code", ["input", "currency"]
        )
    fields: dict[str, Any] = {
        "store_name": store_name,
        "access_token_encrypted": secret_box.encrypt(access_token),
        "currency": code,
    }
    key: dict[str, Any] = {
        "organization_id": organization_id,
        "marketplace": marketplace,
        "external_store_id": external_store_id,
    }
    for _ in range(3):
        if await Store.filter(**key).update(**fields, updated_at=datetime.now(UTC)):
            return RegisteredStore(store=await Store.get(**key), created=False)
        try:
            return RegisteredStore(store=await Store.create(**key, **fields), created=True)
        except IntegrityError:
            continue  # a concurrent call created it first: update that row
    raise ContentionError("store upsert did not settle")


async def get_store(*, store_id: uuid.UUID, organization_id: str) -> Store:
    store = await Store.get_or_none(id=store_id, organization_id=organization_id)
    if store is None:
        raise NotFoundError("store not found")
    return store


async def organization_of_store(store_id: uuid.UUID) -> str | None:
    """The organization a store belongs to; None for an unknown store."""
    found = await Store.get_or_none(id=store_id).only("id", "organization_id")
    return found.organization_id if found is not None else None


_TOKEN_CACHE_SIZE = 10_000
_store_ids: OrderedDict[uuid.UUID, uuid.UUID] = OrderedDict()


async def store_id_for_token(*, sync_token: uuid.UUID) -> uuid.UUID:
    """The store id of a sync token, remembered: a token never moves to another store."""
    store_id = _store_ids.get(sync_token)
    if store_id is not None:
        _store_ids.move_to_end(sync_token)
        return store_id
    found = await Store.get_or_none(sync_token=sync_token).only("id")
    if found is None:
        raise NotFoundError("unknown syncToken")
    _store_ids[sync_token] = found.id
    if len(_store_ids) > _TOKEN_CACHE_SIZE:
        _store_ids.popitem(last=False)
    return found.id


async def get_store_by_token(*, sync_token: uuid.UUID) -> Store:
    store = await Store.get_or_none(sync_token=sync_token)
    if store is None:
        raise NotFoundError("unknown syncToken")
    return store
