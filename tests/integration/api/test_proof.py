"""`marketsync proof` against the running app: every step passes and the pack says so."""

from __future__ import annotations

from marketsync.proof import run_proof
from tests.conftest import Api


async def test_proof_pack_passes_on_a_live_deployment(api: Api) -> None:
    report, ok = await run_proof(url=f"{api.base_url}/graphql", api_key=api.key)

    assert ok is True, report
    assert "**PASS** (9/9 steps)" in report
    assert "FAIL |" not in report
    assert api.key not in report


async def test_proof_fails_loudly_with_a_bad_key(api: Api) -> None:
    report, ok = await run_proof(url=api.base_url, api_key="msk_wrong")

    assert ok is False
    assert "| API key | FAIL |" in report
