"""Log redaction and format, judged on the real rendered output.

Each test configures logging with a stream it owns, logs secrets of every kind
through every path (structlog keys at the top level and nested, the event message, an
exception's text, the standard library's loggers), then reads what was written: no
secret may appear, and the ids and event names must.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import logging.config
import secrets
from collections.abc import Callable, Iterator

import pytest
import structlog
import uvicorn.config
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from marketsync.ids import new_id, new_sync_token
from marketsync.logs import REDACTED, configure_logging
from marketsync.services.apikeys import KEY_PREFIX
from marketsync.webhooks.signing import generate_secret

API_KEY = KEY_PREFIX + secrets.token_urlsafe(32)
WEBHOOK_SECRET = generate_secret()
SYNC_TOKEN = str(new_sync_token())
JWT = "eyJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(24) + "." + secrets.token_urlsafe(16)
TRENDYOL_KEY = secrets.token_hex(10)
TRENDYOL_SECRET = secrets.token_hex(10)
BASIC = base64.b64encode(f"{TRENDYOL_KEY}:{TRENDYOL_SECRET}".encode()).decode()
SHOPIFY_TOKEN = "shpat_" + secrets.token_hex(16)
SHOPIFY_CUSTOM_APP_TOKEN = "shpca_" + secrets.token_hex(16)
AMAZON_REFRESH = "Atzr|IwEBI" + secrets.token_urlsafe(40)
AMAZON_ACCESS = "Atza|IwEBI" + secrets.token_urlsafe(40)
DB_PASSWORD = "pw-" + secrets.token_hex(8)
PLAIN_PASSWORD = "hunter-" + secrets.token_hex(6)

STORE_ID = str(new_id())  # UUID v7: an id, never redacted

#: Secrets whose shape gives them away wherever they appear: (text carrying it, the
#: part that must not be printed). Parts are random, so no other text matches them.
TEXT_SECRETS: dict[str, tuple[str, list[str]]] = {
    "api key": (f"used key {API_KEY}", [API_KEY.removeprefix(KEY_PREFIX)]),
    "webhook secret": (f"signing with {WEBHOOK_SECRET}", [WEBHOOK_SECRET.removeprefix("whsec_")]),
    "sync token in a query": (f'importOrder(input: {{syncToken: "{SYNC_TOKEN}"}})', [SYNC_TOKEN]),
    "bare sync token": (f"no store for {SYNC_TOKEN}", [SYNC_TOKEN]),
    "sync token in a database error": (
        f"Key (sync_token)=({SYNC_TOKEN}) already exists",
        [SYNC_TOKEN],
    ),
    "bearer header": (f"Authorization: Bearer {JWT}", [JWT, JWT.split(".")[1]]),
    "basic header": (f"authorization: Basic {BASIC}", [BASIC]),
    "trendyol pair in a query string": (
        f"GET /suppliers?apiKey={TRENDYOL_KEY}:{TRENDYOL_SECRET}&page=1",
        [TRENDYOL_KEY, TRENDYOL_SECRET],
    ),
    "shopify token": (f"token is {SHOPIFY_TOKEN}", [SHOPIFY_TOKEN.removeprefix("shpat_")]),
    "shopify custom app token": (
        f"X {SHOPIFY_CUSTOM_APP_TOKEN}",
        [SHOPIFY_CUSTOM_APP_TOKEN.removeprefix("shpca_")],
    ),
    "amazon refresh token": (f"lwa {AMAZON_REFRESH}", [AMAZON_REFRESH.removeprefix("Atzr|")]),
    "amazon access token": (f"lwa {AMAZON_ACCESS}", [AMAZON_ACCESS.removeprefix("Atza|")]),
    "url credentials": (f"connect postgres://marketsync:{DB_PASSWORD}@db:5432/x", [DB_PASSWORD]),
    "password pair": (f"login password={PLAIN_PASSWORD} failed", [PLAIN_PASSWORD]),
    "environment dump": (f"SECRET_KEY={PLAIN_PASSWORD} LOG_LEVEL=INFO", [PLAIN_PASSWORD]),
    "json body": (f'{{"accessToken": "{PLAIN_PASSWORD} x", "n": 1}}', [PLAIN_PASSWORD]),
}

#: Keys whose values are secrets whatever the value looks like.
SENSITIVE_KEYS = [
    "access_token",
    "accessToken",
    "token",
    "sync_token",
    "syncToken",
    "secret",
    "signing_secret",
    "api_key",
    "apiKey",
    "authorization",
    "Authorization",
    "password",
    "refresh_token",
    "client_secret",
    "x-api-key",
    "x-access-token",
    "X-Shopify-Access-Token",
    "x-amz-access-token",
    "cookie",
    "credentials",
    "webhook_secret",
    "lwaRefreshToken",
    "aws_secret_access_key",
]

ALL_NEEDLES = sorted({needle for _, needles in TEXT_SECRETS.values() for needle in needles})

Read = Callable[[], str]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Puts back the root handlers, levels and structlog set-up the test found."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_structlog = structlog.get_config()
    yield
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    for handler in saved_handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(saved_level)
    structlog.configure(**saved_structlog)


@pytest.fixture(params=["json", "console"])
def rendered(request: pytest.FixtureRequest, restore_logging: None) -> Read:
    """Logging configured to a stream this test owns, in each mode."""
    stream = io.StringIO()
    configure_logging(level="INFO", json=request.param == "json", stream=stream)
    return stream.getvalue


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _assert_no_secret(output: str, needles: list[str]) -> None:
    leaked = [needle for needle in needles if needle in output]
    assert leaked == [], output


def _raise_with(text: str) -> None:
    raise RuntimeError(f"upstream refused: {text}")


def test_sensitive_keys_at_the_top_level_are_redacted(rendered: Read) -> None:
    log = structlog.get_logger("marketsync.test")
    values = {key: f"{key}-value-{secrets.token_hex(6)}" for key in SENSITIVE_KEYS}

    for key, value in values.items():
        log.info("store_registered", store_id=STORE_ID, **{key: value})

    output = rendered()
    _assert_no_secret(output, list(values.values()))
    assert len(_lines(output)) == len(SENSITIVE_KEYS)
    assert output.count("store_registered") == len(SENSITIVE_KEYS)
    assert output.count(STORE_ID) == len(SENSITIVE_KEYS)
    assert output.count(REDACTED) == len(SENSITIVE_KEYS)


def test_sensitive_keys_nested_in_dicts_lists_and_tuples_are_redacted(rendered: Read) -> None:
    log = structlog.get_logger("marketsync.test")
    values = {key: f"nested-{secrets.token_hex(8)}" for key in SENSITIVE_KEYS}

    log.info(
        "marketplace_request",
        store_id=STORE_ID,
        request={
            "headers": {key: values[key] for key in SENSITIVE_KEYS[:10]},
            "attempts": [{"body": {key: values[key]}} for key in SENSITIVE_KEYS[10:15]],
            "pairs": tuple((key, values[key]) for key in SENSITIVE_KEYS[15:]),
            "batch_id": "not-a-secret",
        },
    )

    output = rendered()
    _assert_no_secret(output, list(values.values()))
    assert output.count(REDACTED) == len(SENSITIVE_KEYS)
    assert "marketplace_request" in output
    assert STORE_ID in output
    assert "not-a-secret" in output


def test_a_missing_secret_still_says_so(rendered: Read) -> None:
    structlog.get_logger("marketsync.test").info(
        "store_checked", store_id=STORE_ID, access_token=None, has_token=True
    )

    output = rendered()
    assert REDACTED not in output
    assert "None" in output or "null" in output
    assert "has_token" in output


@pytest.mark.parametrize("kind", sorted(TEXT_SECRETS))
def test_secrets_inside_the_message_and_values_are_redacted(rendered: Read, kind: str) -> None:
    text, needles = TEXT_SECRETS[kind]
    log = structlog.get_logger("marketsync.test")

    log.info(text, store_id=STORE_ID)
    log.warning("sync_failed", store_id=STORE_ID, error=text, detail={"context": [text]})

    output = rendered()
    _assert_no_secret(output, needles)
    assert REDACTED in output
    assert "sync_failed" in output
    assert output.count(STORE_ID) == 2


@pytest.mark.parametrize("kind", sorted(TEXT_SECRETS))
def test_secrets_inside_an_exception_are_redacted(rendered: Read, kind: str) -> None:
    text, needles = TEXT_SECRETS[kind]
    log = structlog.get_logger("marketsync.test")

    try:
        _raise_with(text)
    except RuntimeError:
        log.exception("sync_crashed", store_id=STORE_ID)

    output = rendered()
    _assert_no_secret(output, needles)
    assert "sync_crashed" in output
    assert STORE_ID in output
    assert "Traceback (most recent call last)" in output
    assert "RuntimeError: upstream refused" in output
    assert "_raise_with" in output


@pytest.mark.parametrize("name", ["uvicorn.error", "dramatiq", "aiohttp.client"])
def test_standard_library_records_are_redacted_and_share_the_format(
    rendered: Read, name: str
) -> None:
    logger = logging.getLogger(name)
    texts = [text for text, _ in TEXT_SECRETS.values()]

    for text in texts:
        logger.warning("delivery for %s: %s", STORE_ID, text)
    try:
        _raise_with(" ".join(texts))
    except RuntimeError:
        logger.exception("Exception in ASGI application")

    output = rendered()
    _assert_no_secret(output, ALL_NEEDLES)
    assert output.count(f"delivery for {STORE_ID}") == len(texts)
    assert "Exception in ASGI application" in output
    assert "RuntimeError: upstream refused" in output
    assert output.count(name) == len(texts) + 1


def test_uvicorn_loggers_configured_by_uvicorn_are_taken_back(restore_logging: None) -> None:
    """``uvicorn app:app`` run by hand applies uvicorn's own dictConfig first: handlers
    of its own on ``uvicorn``/``uvicorn.access`` that do not propagate."""
    logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    stream = io.StringIO()

    configure_logging(level="INFO", json=True, stream=stream)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
    logging.getLogger("uvicorn.access").info("GET /?token=%s", PLAIN_PASSWORD)

    lines = [json.loads(line) for line in _lines(stream.getvalue())]
    assert [(line["logger"], line["event"]) for line in lines] == [
        ("uvicorn.error", "Started server process [7]"),
        ("uvicorn.access", f"GET /?token={REDACTED}"),
    ]
    assert logging.getLogger("uvicorn").handlers == []
    assert logging.getLogger("uvicorn.access").handlers == []


def test_json_lines_carry_level_logger_and_context(rendered: Read) -> None:
    structlog.get_logger("marketsync.jobs").info("job_done", store_id=STORE_ID, token=API_KEY)
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)

    lines = _lines(rendered())
    if not lines[0].startswith("{"):
        assert lines[0].split()[1:] == [
            "[info",
            "]",
            "job_done",
            "[marketsync.jobs]",
            f"store_id={STORE_ID}",
            f"token={REDACTED}",
        ]
        assert lines[1].split()[1:] == [
            "[info",
            "]",
            "Started",
            "server",
            "process",
            "[42]",
            "[uvicorn.error]",
        ]
        return
    ours, theirs = (json.loads(line) for line in lines)
    assert {key: ours[key] for key in ("event", "level", "logger", "store_id", "token")} == {
        "event": "job_done",
        "level": "info",
        "logger": "marketsync.jobs",
        "store_id": STORE_ID,
        "token": REDACTED,
    }
    assert {key: theirs[key] for key in ("event", "level", "logger")} == {
        "event": "Started server process [42]",
        "level": "info",
        "logger": "uvicorn.error",
    }
    assert set(ours) - {"event", "level", "logger", "store_id", "token"} == {"timestamp"}
    assert set(theirs) == {"event", "level", "logger", "timestamp"}


def test_configuring_twice_writes_each_line_once(restore_logging: None) -> None:
    first, second = io.StringIO(), io.StringIO()
    handlers_before = len(logging.getLogger().handlers)

    configure_logging(level="INFO", json=True, stream=first)
    configure_logging(level="INFO", json=True, stream=second)
    logging.getLogger("dramatiq").warning("once")
    structlog.get_logger("marketsync.test").warning("once_too")

    assert len(logging.getLogger().handlers) in (handlers_before, handlers_before + 1)
    assert first.getvalue() == ""
    assert [json.loads(line)["event"] for line in _lines(second.getvalue())] == ["once", "once_too"]


def test_library_levels_keep_idle_processes_quiet(restore_logging: None) -> None:
    configure_logging(level="DEBUG", json=True, stream=io.StringIO())

    assert logging.getLogger("apscheduler.executors.default").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("apscheduler.scheduler").getEffectiveLevel() == logging.WARNING
    assert logging.getLogger("aiosqlite").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("tortoise.db_client").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("dramatiq.worker").getEffectiveLevel() == logging.INFO
    assert logging.getLogger("marketsync.jobs").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("uvicorn.error").isEnabledFor(logging.DEBUG)


async def test_apscheduler_ticks_are_silent_but_its_warnings_pass(rendered: Read) -> None:
    """A real AsyncIOScheduler whose first run outlives the interval: each run would log
    "Running job"/"executed successfully" at INFO (silenced) and, while the first still
    runs, "maximum number of running instances reached" at WARNING (kept)."""
    release, skipped, executed_twice = asyncio.Event(), asyncio.Event(), asyncio.Event()
    runs = 0
    executed = 0

    def on_event(event: JobEvent) -> None:
        nonlocal executed
        if event.code == EVENT_JOB_MAX_INSTANCES:
            skipped.set()  # dispatched right after the warning is logged
        else:
            executed += 1  # dispatched right after "executed successfully" would be
            if executed == 2:
                executed_twice.set()

    async def job() -> None:
        nonlocal runs
        runs += 1
        if runs > 1:
            return
        await release.wait()

    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(job, "interval", seconds=0.05, id="enqueue_due_work")
    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    try:
        async with asyncio.timeout(10):
            await skipped.wait()
            release.set()
            await executed_twice.wait()
    finally:
        scheduler.shutdown(wait=False)

    output = rendered()
    assert "Running job" not in output
    assert "executed successfully" not in output
    assert "maximum number of running instances reached" in output
    assert "apscheduler" in output
