"""`marketsync apikey create / list / revoke` against the running API's own database.

The CLI runs as a separate process (as an operator would run it) while the app serves
on 127.0.0.1: a revocation must take effect at the API's very next request.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass

from marketsync.models import ApiKey
from tests.conftest import ORG, OTHER_ORG, Api
from tests.support.graphql import error_codes

VIEWER = "{ viewer { organizationId } }"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


async def marketsync(api: Api, *args: str) -> Done:
    """The CLI on the API's database, without blocking the loop the API serves on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marketsync",
        *args,
        env={**os.environ, "DATABASE_URL": api.settings.database_url},
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


async def test_a_key_revoked_by_the_cli_is_refused_at_the_apis_next_request(api: Api) -> None:
    created = await marketsync(api, "apikey", "create", "--organization", ORG, "--name", "ci")
    key = created.stdout.strip().splitlines()[-1]
    before = await api.gql(VIEWER, key=key)
    row = await ApiKey.get(prefix=key[:12])

    revoked = await marketsync(api, "apikey", "revoke", str(row.id))
    after = await api.gql(VIEWER, key=key)

    assert created.returncode == 0
    assert before == {"data": {"viewer": {"organizationId": ORG}}}
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == f"API key {row.id} ({ORG}, {key[:12]}) revoked"
    assert error_codes(after) == ["UNAUTHENTICATED"]
    assert after["data"] is None
    # Only that key: the organization's other key still works.
    assert await api.gql(VIEWER, key=api.key) == {"data": {"viewer": {"organizationId": ORG}}}


async def test_revoke_is_idempotent_and_keeps_the_first_revocation_time(api: Api) -> None:
    row = await ApiKey.get(organization_id=OTHER_ORG)

    first = await marketsync(api, "apikey", "revoke", str(row.id))
    revoked_at = (await ApiKey.get(id=row.id)).revoked_at
    second = await marketsync(api, "apikey", "revoke", str(row.id))

    assert first.returncode == 0
    assert second.returncode == 0
    assert second.stdout.strip().endswith(") was already revoked")
    assert revoked_at is not None
    assert (await ApiKey.get(id=row.id)).revoked_at == revoked_at
    assert error_codes(await api.gql(VIEWER, key=api.other_key)) == ["UNAUTHENTICATED"]


async def test_revoking_an_unknown_id_fails_clearly_and_revokes_nothing(api: Api) -> None:
    unknown = await marketsync(api, "apikey", "revoke", "01900000-0000-7000-8000-000000000000")
    garbage = await marketsync(api, "apikey", "revoke", "not-an-id")

    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "Error: no API key with id '01900000-0000-7000-8000-000000000000'"
    )
    assert garbage.returncode == 1
    assert garbage.stderr.strip() == "Error: no API key with id 'not-an-id'"
    assert await ApiKey.filter(revoked_at__isnull=False).count() == 0


async def test_list_shows_every_key_but_never_the_key_itself(api: Api) -> None:
    created = await marketsync(api, "apikey", "create", "--org", ORG, "--name", "deploy bot")
    key = created.stdout.strip().splitlines()[-1]
    other = await ApiKey.get(organization_id=OTHER_ORG)
    await marketsync(api, "apikey", "revoke", str(other.id))

    everything = await marketsync(api, "apikey", "list")
    only_org = await marketsync(api, "apikey", "list", "--organization", ORG)

    lines = everything.stdout.strip().splitlines()
    assert everything.returncode == 0
    assert lines[0].split() == [
        "ID", "ORGANIZATION", "NAME", "PREFIX", "CREATED", "LAST", "USED", "REVOKED"
    ]  # fmt: skip
    assert len(lines) == 4
    for secret in (key, api.key, api.other_key):
        assert secret not in everything.stdout
        assert secret[12:20] not in everything.stdout  # nothing past the stored prefix
    named = next(line for line in lines if "deploy bot" in line)
    assert named.split()[4] == key[:12]
    assert named.rstrip().endswith("  -")  # not revoked
    revoked = next(line for line in lines if line.startswith(str(other.id)))
    assert revoked.split()[1] == OTHER_ORG
    assert not revoked.rstrip().endswith("  -")
    assert [line.split()[1] for line in only_org.stdout.strip().splitlines()[1:]] == [ORG, ORG]


async def test_create_refuses_bad_input_and_stores_nothing(api: Api) -> None:
    empty = await marketsync(api, "apikey", "create", "--org", "   ")
    long_name = await marketsync(api, "apikey", "create", "--org", ORG, "--name", "n" * 101)
    control = await marketsync(api, "apikey", "create", "--org", ORG, "--name", "a\x1bb")

    assert (empty.returncode, empty.stderr.strip()) == (1, "Error: organization must not be empty")
    assert (long_name.returncode, long_name.stderr.strip()) == (
        1,
        "Error: name must be at most 100 characters",
    )
    assert (control.returncode, control.stderr.strip()) == (1, "Error: name must be printable text")
    assert "msk_" not in empty.stdout + long_name.stdout + control.stdout
    assert await ApiKey.all().count() == 2  # the fixture's two keys
