"""`marketsync rotate-secrets` on a real database (SQLite and PostgreSQL) beside the running API.

The API runs as an operator would during a rotation: SECRET_KEY is the new key and the
old one is in SECRET_KEY_FALLBACKS (tests/conftest.py). Rows are written under the old
key (its HKDF keys and the legacy SHA-256 scheme) and the command runs as a process.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from tortoise.transactions import in_transaction

from marketsync.crypto import Vault
from marketsync.models import Store, WebhookEndpoint
from marketsync.services.rotation import ENCRYPTED_COLUMNS, RotationReport, rotate_row
from tests.conftest import (
    ORG,
    OTHER_ORG,
    TEST_OLD_SECRET_KEY,
    TEST_SECRET_KEY,
    Api,
    import_order,
    register_store,
)
from tests.support.graphql import REGISTER_STORE, store_input
from tests.support.webhooks import REGISTER_WEBHOOK

OLD, NEW = TEST_OLD_SECRET_KEY, TEST_SECRET_KEY
TEST_CONNECTION = "mutation($id: UUID!) { testConnection(storeId: $id) { lastStatus lastError } }"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


async def rotate_secrets(api: Api, *args: str, **env: str) -> Done:
    """The command as its own process, without blocking the loop the API serves on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marketsync",
        "rotate-secrets",
        *args,
        env={
            **os.environ,
            "MARKETSYNC_MODE": "serve",
            "DATABASE_URL": api.settings.database_url,
            "SECRET_KEY": NEW,
            "SECRET_KEY_FALLBACKS": OLD,
            **env,
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return Done(proc.returncode, out.decode(), err.decode())


def legacy(secret_key: str, plaintext: str) -> str:
    key = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
    return Fernet(key).encrypt(plaintext.encode()).decode()


def counts(done: Done) -> str:
    return next(line for line in done.stdout.splitlines() if line.startswith("rotated: "))


async def seed(api: Api, stores: int) -> tuple[dict[str, str], dict[str, str]]:
    """Stores and webhook endpoints whose secrets are under the old key (both schemes)."""
    old = Vault(OLD)
    tokens: dict[str, str] = {}
    for index in range(stores):
        store = await register_store(api, f"shop-{index}", accessToken=f"token-{index}")
        tokens[store.id] = f"token-{index}"
        scheme = index % 3  # old HKDF key, legacy of the old key, legacy of the new key
        ciphertext = (
            old.store_tokens.encrypt(tokens[store.id])
            if scheme == 0
            else legacy(OLD if scheme == 1 else NEW, tokens[store.id])
        )
        await Store.filter(id=store.id).update(access_token_encrypted=ciphertext)
    secrets: dict[str, str] = {}
    for org, key, event in (
        (ORG, api.key, "SYNC_COMPLETED"),
        (ORG, api.key, "SYNC_FAILED"),
        (OTHER_ORG, api.other_key, "SYNC_COMPLETED"),
    ):
        target = f"{api.base_url}/mock/webhook"
        body = await api.gql(
            REGISTER_WEBHOOK,
            {"input": {"organizationId": org, "event": event, "targetUrl": target}},
            key=key,
        )
        payload = body["data"]["registerWebhook"]
        secret = payload["signingSecret"]
        secrets[payload["webhook"]["id"]] = secret
        old_scheme = (
            old.webhook_secrets.encrypt(secret) if event == "SYNC_FAILED" else legacy(OLD, secret)
        )
        await WebhookEndpoint.filter(id=payload["webhook"]["id"]).update(
            secret_encrypted=old_scheme
        )
    return tokens, secrets


async def assert_all_current(tokens: dict[str, str], secrets: dict[str, str]) -> None:
    """Every secret decrypts with the new key alone, to its original plaintext."""
    new_only = Vault(NEW)
    stored_tokens = dict(await Store.all().values_list("id", "access_token_encrypted"))
    stored_secrets = dict(await WebhookEndpoint.all().values_list("id", "secret_encrypted"))
    assert {str(k): new_only.store_tokens.decrypt(v) for k, v in stored_tokens.items()} == tokens
    assert {
        str(k): new_only.webhook_secrets.decrypt(v) for k, v in stored_secrets.items()
    } == secrets


async def test_rotation_moves_every_secret_to_the_new_key_and_a_second_run_changes_nothing(
    api: Api,
) -> None:
    tokens, secrets = await seed(api, stores=7)
    current = await register_store(api, "shop-current", accessToken="token-current")
    tokens[current.id] = "token-current"  # written by the API: already under the new key
    before = dict(await Store.all().values_list("id", "access_token_encrypted"))

    first = await rotate_secrets(api, "--batch-size", "2")  # several keyset batches
    after_first = dict(await Store.all().values_list("id", "access_token_encrypted"))
    second = await rotate_secrets(api)
    after_second = dict(await Store.all().values_list("id", "access_token_encrypted"))

    assert first.returncode == 0, first.stderr
    assert counts(first) == "rotated: 10, already current: 1, unreadable: 0"
    await assert_all_current(tokens, secrets)
    assert after_first[uuid.UUID(current.id)] == before[uuid.UUID(current.id)]  # left alone
    assert second.returncode == 0, second.stderr
    assert counts(second) == "rotated: 0, already current: 11, unreadable: 0"
    assert "nothing to rotate: every secret is under the current key" in second.stdout
    assert after_second == after_first
    for plaintext in (*tokens.values(), *secrets.values()):
        assert plaintext not in first.stdout + first.stderr + second.stdout + second.stderr


async def test_the_api_keeps_working_while_rotation_runs_and_no_concurrent_change_is_lost(
    api: Api,
) -> None:
    tokens, secrets = await seed(api, stores=30)
    store_ids = list(tokens)
    sync_tokens = {str(row.id): str(row.sync_token) for row in await Store.filter(id__in=store_ids)}
    answers: list[dict[str, Any]] = []
    imports: list[dict[str, Any]] = []
    rotation = asyncio.create_task(rotate_secrets(api, "--batch-size", "1"))
    round_ = 0
    while not rotation.done() or round_ == 0:
        store_id = store_ids[round_ % len(store_ids)]
        answers.append(await api.gql(TEST_CONNECTION, {"id": store_id}, key=api.key))
        imports.append(await import_order(api, sync_tokens[store_id], f"R-{round_}-1"))
        # A concurrent writer: the running API re-registers a store with a new token.
        tokens[store_id] = f"token-{store_id}-round-{round_}"
        body = await api.gql(
            REGISTER_STORE,
            {
                "input": store_input(
                    ORG, f"shop-{store_ids.index(store_id)}", accessToken=tokens[store_id]
                )
            },
            key=api.key,
        )
        assert body["data"]["registerStore"]["userErrors"] == []
        round_ += 1
    done = await rotation

    assert done.returncode == 0, done.stderr
    assert round_ >= 1
    assert answers == [
        {"data": {"testConnection": {"lastStatus": "SUCCESS", "lastError": None}}}
    ] * len(answers)
    assert [entry["syncLog"]["status"] for entry in imports] == ["SUCCESS"] * len(imports)
    await assert_all_current(tokens, secrets)  # every re-registered token is the latest one


async def test_a_row_changed_after_it_was_read_is_not_overwritten(api: Api) -> None:
    store = await register_store(api, "shop-1", accessToken="first")
    stale = Vault(OLD).store_tokens.encrypt("first")  # what rotation read earlier
    fresh = (await Store.get(id=store.id)).access_token_encrypted  # the API's later write
    report = RotationReport()
    column = next(c for c in ENCRYPTED_COLUMNS if c.model is Store)

    async with in_transaction() as conn:
        await rotate_row(
            conn=conn,
            column=column,
            box=api.rt.vault.store_tokens,
            row_id=uuid.UUID(store.id),
            token=stale,
            report=report,
        )

    assert (await Store.get(id=store.id)).access_token_encrypted == fresh
    assert (report.rotated, report.current, report.unreadable, report.conflicts) == (0, 1, [], [])


async def test_an_unreadable_secret_is_reported_by_id_left_as_is_and_fails_the_run(
    api: Api,
) -> None:
    tokens, _ = await seed(api, stores=2)
    lost = await register_store(api, "shop-lost", accessToken="lost-token")
    foreign = Vault("a-key-nobody-configured-0123456789-abcdef").store_tokens.encrypt("lost-token")
    await Store.filter(id=lost.id).update(access_token_encrypted=foreign)

    done = await rotate_secrets(api)
    short_key = await rotate_secrets(api, SECRET_KEY="too-short")

    assert done.returncode == 1
    assert counts(done) == "rotated: 5, already current: 0, unreadable: 1"
    assert done.stderr.strip().splitlines()[-1] == (
        f"unreadable: store {lost.id} (no configured key decrypts it)"
    )
    assert foreign not in done.stdout + done.stderr
    assert "lost-token" not in done.stdout + done.stderr
    assert (await Store.get(id=lost.id)).access_token_encrypted == foreign
    new_only = Vault(NEW).store_tokens
    for store_id, token in tokens.items():
        assert new_only.decrypt((await Store.get(id=store_id)).access_token_encrypted) == token
    assert short_key.returncode == 1
    assert short_key.stderr.strip() == "Error: SECRET_KEY must be at least 32 characters"
