"""Rate budgets without Redis: MARKETPLACE_RATE_LIMITS, the in-process bucket's arithmetic
on a fake clock, bucket names, and the fall-back when the shared store fails."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr, ValidationError
from structlog.testing import capture_logs

from marketsync.config import (
    RateLimit,
    Settings,
    effective_rate_limits,
    parse_rate_limits,
)
from marketsync.marketplaces.budget import (
    KEY_PREFIX,
    Budget,
    BudgetUnavailableError,
    LocalBuckets,
    build_budget,
)

SECRET = "budget-test-secret-key-long-enough-0123456789"
DEFAULTS = {
    "trendyol": RateLimit(5, 50),
    "etsy": RateLimit(10, 10),
    "shopify": RateLimit(2, 40),
    "amazon": RateLimit(0.5, 30),
}


class FakeTime:
    """A clock that only moves when the test says so, or (``sleeping_moves``) when the
    budget sleeps; every sleep is recorded."""

    def __init__(self, *, sleeping_moves: bool = True) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []
        self.sleeping_moves = sleeping_moves

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.sleeping_moves:
            self.now += seconds


def local_budget(time: FakeTime, **limits: RateLimit) -> Budget:
    return Budget(
        limits,
        LocalBuckets(clock=time.clock),
        secret_key=SECRET,
        clock=time.clock,
        sleep=time.sleep,
    )


# --- MARKETPLACE_RATE_LIMITS -------------------------------------------------------


def test_parse_pairs_case_spaces_fractions_and_off() -> None:
    assert parse_rate_limits(" TRENDYOL=5/s:50 , etsy = 0.5/s:10,Amazon=OFF ,") == {
        "trendyol": RateLimit(5.0, 50),
        "etsy": RateLimit(0.5, 10),
        "amazon": None,
    }
    assert parse_rate_limits("") == {}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("TRENDYOL=5/s", "'TRENDYOL=5/s' is not NAME=RATE/s:BURST"),
        ("TRENDYOL=5:50", "is not NAME=RATE/s:BURST"),
        ("TRENDYOL=5/m:50", "is not NAME=RATE/s:BURST"),
        ("TRENDYOL=-1/s:5", "is not NAME=RATE/s:BURST"),
        ("TRENDYOL=1/s:2.5", "is not NAME=RATE/s:BURST"),
        ("TRENDYOL", "is not NAME=RATE/s:BURST"),
        ("EBAY=1/s:5", "unknown marketplace 'EBAY'"),
        ("ETSY=1/s:5,etsy=2/s:5", "ETSY is given twice"),
        ("ETSY=0/s:5", "ETSY needs a rate above 0"),
        ("ETSY=1/s:0", "ETSY needs a rate above 0 and a burst of 1+"),
    ],
)
def test_parse_refuses_bad_syntax_naming_the_variable(value: str, says: str) -> None:
    with pytest.raises(ValueError, match="MARKETPLACE_RATE_LIMITS") as raised:
        parse_rate_limits(value)
    assert says in str(raised.value)


def test_bad_variable_stops_settings_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPLACE_RATE_LIMITS", "AMAZON=fast")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert "MARKETPLACE_RATE_LIMITS: 'AMAZON=fast' is not NAME=RATE/s:BURST" in str(raised.value)


def test_variable_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPLACE_RATE_LIMITS", "AMAZON=2/s:5")
    assert Settings().marketplace_rate_limits == {"amazon": RateLimit(2.0, 5)}
    monkeypatch.delenv("MARKETPLACE_RATE_LIMITS")
    assert Settings().marketplace_rate_limits is None


def test_live_mode_has_the_contract_defaults_overridden_pair_by_pair() -> None:
    assert effective_rate_limits(None, live=True) == DEFAULTS
    assert effective_rate_limits(parse_rate_limits("AMAZON=2/s:5,ETSY=off"), live=True) == {
        "trendyol": RateLimit(5, 50),
        "shopify": RateLimit(2, 40),
        "amazon": RateLimit(2, 5),
    }


def test_mock_mode_has_no_budget_unless_the_variable_is_set() -> None:
    assert effective_rate_limits(None, live=False) == {}
    assert effective_rate_limits({}, live=False) == {}
    assert effective_rate_limits(parse_rate_limits("AMAZON=2/s:5"), live=False) == {
        "amazon": RateLimit(2, 5)
    }


async def test_build_budget_null_in_mock_mode_and_in_process_when_embedded() -> None:
    settings = Settings(redis_url=None, secret_key=SecretStr(SECRET))
    null = build_budget(settings, redis=None, live=False, secret_key=SECRET)
    assert all(null.limit_for(name) is None for name in DEFAULTS)
    for _ in range(100):  # nothing is budgeted: every call may go at once
        assert await null.try_acquire("amazon", "A1") is None
    assert await null.acquire("amazon", "A1", timeout_s=0) is True
    await null.drain("amazon", "A1", 60)
    assert await null.try_acquire("amazon", "A1") is None

    live = build_budget(settings, redis=None, live=True, secret_key=SECRET)
    assert {name: live.limit_for(name.upper()) for name in DEFAULTS} == DEFAULTS
    embedded = Settings(
        redis_url=None,
        secret_key=SecretStr(SECRET),
        marketplace_rate_limits="AMAZON=1/s:2",
    )
    budget = build_budget(embedded, redis=None, live=False, secret_key=SECRET)
    assert budget.limit_for("trendyol") is None
    assert await budget.try_acquire("amazon", "A1") is None
    assert await budget.try_acquire("amazon", "A1") is None
    wait = await budget.try_acquire("amazon", "A1")
    assert wait is not None
    assert 0.5 < wait <= 1.0  # the in-process bucket, on the real clock: about 1 s


# --- the bucket's arithmetic ---------------------------------------------------------


async def test_burst_then_rate() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(2, 3))
    assert [await budget.try_acquire("amazon", "A1") for _ in range(3)] == [None, None, None]
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.5)
    time.now += 0.25
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.25)
    time.now += 0.25
    assert await budget.try_acquire("amazon", "A1") is None  # one token back after 1/rate
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.5)
    time.now += 3600  # refilled, but never past the burst
    assert [await budget.try_acquire("amazon", "A1") for _ in range(4)] == [
        None,
        None,
        None,
        pytest.approx(0.5),
    ]
    assert time.sleeps == []  # try_acquire never waits


async def test_acquire_waits_the_told_time_first_come_first_served() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(2, 1))
    assert await budget.acquire("amazon", "A1", timeout_s=5) is True
    assert time.sleeps == []  # a full bucket: at once
    assert await budget.acquire("amazon", "A1", timeout_s=5) is True
    assert time.sleeps == [pytest.approx(0.5)]  # slept until its token was due, once
    assert await budget.acquire_within("amazon", "A1", timeout_s=5) is None
    assert time.sleeps == [pytest.approx(0.5), pytest.approx(0.5)]


async def test_timeout_returns_false_at_once_without_taking() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(1, 1))
    assert await budget.try_acquire("amazon", "A1") is None
    assert await budget.acquire("amazon", "A1", timeout_s=0.5) is False
    assert await budget.acquire_within("amazon", "A1", timeout_s=0.9) == pytest.approx(1.0)
    assert time.sleeps == []  # gave up at once: no sleeping to the deadline
    time.now += 1.0
    # Nothing was taken by the failed acquires: exactly one token is back.
    assert await budget.try_acquire("amazon", "A1") is None
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(1.0)


async def test_waiters_arriving_together_reserve_consecutive_tokens() -> None:
    time = FakeTime(sleeping_moves=False)  # all six ask at the same instant
    budget = local_budget(time, amazon=RateLimit(4, 2))
    told = [await budget.acquire_within("amazon", "A1", timeout_s=0.6) for _ in range(6)]
    # Two at once (the burst), two reserved 1/rate apart within the timeout, then two
    # refused with the time of the first token nobody holds (nothing taken for them).
    assert told == [None, None, None, None, pytest.approx(0.75), pytest.approx(0.75)]
    assert time.sleeps == [pytest.approx(0.25), pytest.approx(0.5)]


async def test_drain_blocks_until_retry_after_then_one_token_at_a_time() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(2, 5))
    await budget.drain("amazon", "A1", 3.0)
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(3.0)
    assert await budget.acquire("amazon", "A1", timeout_s=2.9) is False
    time.now += 2.9
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.1)
    time.now += 0.1
    assert await budget.try_acquire("amazon", "A1") is None
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.5)  # emptied: no burst


async def test_drain_without_retry_after_and_never_shortens_a_block() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(2, 5))
    await budget.drain("amazon", "A1", None)
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(0.5)  # empty: 1/rate
    await budget.drain("amazon", "A1", 10.0)
    await budget.drain("amazon", "A1", 1.0)
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(10.0)


async def test_buckets_are_per_marketplace_and_account() -> None:
    time = FakeTime()
    budget = local_budget(time, amazon=RateLimit(1, 1), etsy=RateLimit(1, 1))
    assert await budget.try_acquire("AMAZON", "A1") is None
    assert await budget.try_acquire("amazon", "A1") == pytest.approx(1.0)  # same bucket
    assert await budget.try_acquire("amazon", "A2") is None
    assert await budget.try_acquire("etsy", "A1") is None
    assert await budget.try_acquire("trendyol", "A1") is None  # no limit: not budgeted
    assert await budget.try_acquire("trendyol", "A1") is None


def test_bucket_names_hide_the_account() -> None:
    budget = Budget({}, None, secret_key=SECRET)
    key = budget.bucket_key("TRENDYOL", "123456")
    assert key.startswith(f"{KEY_PREFIX}trendyol:")
    assert "123456" not in key
    assert len(key) == len(KEY_PREFIX) + len("trendyol:") + 32
    assert budget.bucket_key("trendyol", "123456") == key
    assert budget.bucket_key("trendyol", "123457") != key
    assert budget.bucket_key("amazon", "123456").removeprefix(f"{KEY_PREFIX}amazon:") != (
        key.removeprefix(f"{KEY_PREFIX}trendyol:")
    )
    # Keyed by SECRET_KEY: the same account under another deployment's key is another name,
    # so a guessed seller id cannot be checked against a key without the secret.
    assert Budget({}, None, secret_key=SECRET + "x").bucket_key("trendyol", "123456") != key


# --- the shared store failing ------------------------------------------------------


class FlakyBuckets:
    """A shared store that fails while ``down`` is set; otherwise grants everything."""

    def __init__(self) -> None:
        self.down = True
        self.takes = 0
        self.drains = 0

    async def take(self, key: str, limit: RateLimit, max_wait_s: float) -> tuple[bool, float]:
        if self.down:
            raise BudgetUnavailableError("ConnectionError")
        self.takes += 1
        return True, 0.0

    async def drain(self, key: str, limit: RateLimit, retry_after_s: float) -> None:
        if self.down:
            raise BudgetUnavailableError("TimeoutError")
        self.drains += 1


def fallbacks(marketplace: str) -> float:
    value = REGISTRY.get_sample_value(
        "marketsync_rate_budget_fallbacks_total", {"marketplace": marketplace}
    )
    return value or 0.0


async def test_store_failure_falls_back_to_the_in_process_bucket() -> None:
    time = FakeTime()
    shared = FlakyBuckets()
    budget = Budget(
        {"shopify": RateLimit(1, 2)}, shared, secret_key=SECRET, clock=time.clock, sleep=time.sleep
    )
    before = fallbacks("shopify")
    with capture_logs() as logged:
        # The in-process bucket keeps the same limits: a burst of 2, then 1/s.
        assert await budget.try_acquire("shopify", "S1") is None
        assert await budget.try_acquire("shopify", "S1") is None
        assert await budget.try_acquire("shopify", "S1") == pytest.approx(1.0)
        assert await budget.acquire("shopify", "S1", timeout_s=0.5) is False
        await budget.drain("shopify", "S1", 30)
        assert await budget.try_acquire("shopify", "S1") == pytest.approx(30.0)
        shared.down = False
        assert await budget.try_acquire("shopify", "S1") is None  # the shared store again
    assert fallbacks("shopify") - before == 6
    assert (shared.takes, shared.drains) == (1, 0)
    events = [(entry["event"], entry["log_level"]) for entry in logged]
    assert events == [  # once when it starts, once when it ends: not a line per call
        ("rate_budget_redis_unavailable", "warning"),
        ("rate_budget_redis_recovered", "info"),
    ]
    assert logged[0]["error"] == "ConnectionError"
    assert "S1" not in repr(logged)
