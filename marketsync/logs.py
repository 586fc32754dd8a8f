"""One log format for every line the process writes, and no secret in any of them.

structlog events and the standard library's records (uvicorn, dramatiq, aiohttp,
apscheduler, tortoise, asyncio) leave through the same root handler and the same
``ProcessorFormatter``: key-value lines for people, JSON lines for machines
(``LOG_JSON=true``, as docker-compose sets). The formatter renders exceptions to text
first and then runs ``redact``, so a secret is scrubbed wherever it sits: under a
sensitive key at any depth, inside the event message, inside a traceback.

``redact`` works in two ways:

* by key: the value of a key that names a credential (``access_token``,
  ``accessToken``, ``x-shopify-access-token``, ``signing_secret``, ``password``…,
  compared lower-cased with ``-`` and ``_`` removed) is replaced whole;
* by shape, in every string: our API keys (``msk_``), webhook secrets (``whsec_``),
  Shopify (``shpat_``…) and Amazon (``Atza|``/``Atzr|``) tokens, ``Bearer``/``Basic``
  credentials, ``user:password@`` in URLs, ``key=value`` / ``"key": "value"`` pairs
  whose key names a credential, and random (v4) UUIDs, the shape of a sync token.
  Entity ids are UUID v7 and stay; a v4 UUID under an id key (``batch_id``) stays too.

Quiet when idle: libraries that log per scheduler tick or per query are held at
``LIBRARY_LEVELS`` whatever ``LOG_LEVEL`` says, so an idle process writes nothing at
INFO.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import IO, Any, Final

import structlog

REDACTED: Final = "<redacted>"

#: Keys whose values are credentials, normalised (lower case, no ``-`` or ``_``).
SENSITIVE_KEYS: Final = frozenset(
    {
        "accesstoken",
        "apikey",
        "apisecret",
        "authorization",
        "clientsecret",
        "cookie",
        "credential",
        "credentials",
        "password",
        "passwd",
        "privatekey",
        "proxyauthorization",
        "refreshtoken",
        "secret",
        "secretkey",
        "setcookie",
        "signingsecret",
        "synctoken",
        "token",
        "xaccesstoken",
        "xamzaccesstoken",
        "xapikey",
        "xshopifyaccesstoken",
    }
)
#: Any key ending like these is sensitive too (``webhook_secret``, ``lwa_refresh_token``).
_SENSITIVE_SUFFIXES: Final = (
    "token",
    "secret",
    "password",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "authorization",
    "cookie",
    "credentials",
)

#: Floors for chatty libraries: APScheduler's executor logs "Running job" and "executed
#: successfully" at INFO on every tick (its warnings, e.g. "maximum number of running
#: instances reached", still pass); aiosqlite, tortoise and dramatiq talk per query or
#: per message at DEBUG.
LIBRARY_LEVELS: Final[Mapping[str, int]] = {
    "apscheduler": logging.WARNING,
    "aiosqlite": logging.INFO,
    "tortoise": logging.INFO,
    "dramatiq": logging.INFO,
}

_TAKEN_OVER_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

_HANDLER_NAME: Final = "marketsync"

_CREDENTIAL_WORD = (
    r"(?:token|secret|passw(?:or)?d|(?:api|secret|access|private)[-_]?key|authorization"
    r"|cookie|credentials?)"
)
_SUBSTITUTIONS: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # scheme://user:password@host (and scheme://token@host): the whole userinfo goes.
    (re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^\s/@?#]+@", re.IGNORECASE), rf"\1{REDACTED}@"),
    (
        re.compile(r"\b(Bearer|Basic)(\s+)(?!realm\b)[A-Za-z0-9._~+/\-]+=*", re.IGNORECASE),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"\bmsk_[A-Za-z0-9_\-]+"), f"msk_{REDACTED}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), f"whsec_{REDACTED}"),
    (re.compile(r"\b(shp(?:at|ca|pa|ss)_)[A-Za-z0-9]+"), rf"\1{REDACTED}"),
    (re.compile(r"\b(Atz[ar]\|)[A-Za-z0-9._~+/%|=\-]+"), rf"\1{REDACTED}"),
)
#: key=value, key: value, "key": "value", PostgreSQL's ``Key (sync_token)=(value)``: a
#: key whose name ends in a credential word (``accessToken``, ``x-api-key``).
_PAIR: Final = re.compile(
    rf"""({_CREDENTIAL_WORD}["')]?\s*[:=]\s*\(?)"""
    r"""("[^"]*"|'[^']*'|[^\s,;&"'(){}\[\]<>]+)""",
    re.IGNORECASE,
)
#: Anything any pattern above (or a v4 UUID) could start with; no match, nothing to do.
_SUSPECT: Final = re.compile(
    r"://|bearer|basic|msk_|whsec_|shp|atz[ar]\||token|secret|passw|key|authoriz|cookie"
    r"|credential|[0-9a-f]{8}-[0-9a-f]{4}-4",
    re.IGNORECASE,
)
_UUID4: Final = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\b", re.IGNORECASE
)


def _normalise(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def is_sensitive_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = _normalise(key)
    return name in SENSITIVE_KEYS or name.endswith(_SENSITIVE_SUFFIXES)


def _is_id_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    name = key.lower()
    return name == "id" or name.endswith(("_id", "_ids", "-id")) or key.endswith(("Id", "Ids"))


def _redact_pair(match: re.Match[str]) -> str:
    value = match.group(2)
    if value[0] in "\"'":
        return f"{match.group(1)}{value[0]}{REDACTED}{value[0]}"
    return f"{match.group(1)}{REDACTED}"


def scrub_text(text: str, *, keep_uuids: bool = False) -> str:
    """``text`` with every credential-shaped substring replaced by ``<redacted>``."""
    if _SUSPECT.search(text) is None:  # one pass decides for most strings
        return text
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    text = _PAIR.sub(_redact_pair, text)
    if not keep_uuids:
        text = _UUID4.sub(REDACTED, text)
    return text


def _redact_value(value: Any, *, keep_uuids: bool) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value, keep_uuids=keep_uuids)
    if isinstance(value, Mapping):
        return {key: _redact_entry(key, item, keep_uuids=keep_uuids) for key, item in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and is_sensitive_key(value[0]):
        return (value[0], _redact_entry(value[0], value[1]))  # a header pair
    if isinstance(value, list | tuple | set | frozenset):
        items = [_redact_value(item, keep_uuids=keep_uuids) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    # Anything else is rendered with repr() (console) or str()/repr() (JSON): scrub that
    # text, and keep the object itself when there was nothing to scrub.
    for text in (str(value), repr(value)):
        if scrub_text(text, keep_uuids=keep_uuids) != text:
            return scrub_text(repr(value), keep_uuids=keep_uuids)
    return value


def _redact_entry(key: object, value: Any, *, keep_uuids: bool = False) -> Any:
    if is_sensitive_key(key):
        return value if value is None or value == "" or isinstance(value, bool) else REDACTED
    return _redact_value(value, keep_uuids=keep_uuids or _is_id_key(key))


def redact(
    _: object, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """structlog processor: scrub every key and string of the event, at any depth."""
    return {key: _redact_entry(key, value) for key, value in event_dict.items()}


def _renderer(json: bool) -> structlog.typing.Processor:
    if json:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(
        colors=False,
        # Plain text only: rich tracebacks would print frame locals, secrets included.
        exception_formatter=structlog.dev.plain_traceback,
    )


def _timestamper() -> structlog.typing.Processor:
    return structlog.processors.TimeStamper(fmt="iso", utc=True)


def configure_logging(
    *, level: str = "INFO", json: bool = False, stream: IO[str] | None = None
) -> None:
    """Send structlog and the standard library through one redacting formatter.

    Idempotent: a second call replaces the handler the first one installed (the
    processes dramatiq forks call it again once their stderr is the parent's pipe).
    ``stream`` defaults to ``sys.stderr`` at the time of the call.
    """
    numeric_level = logging.getLevelName(level.upper())
    if not isinstance(numeric_level, int):
        raise ValueError(f"unknown log level {level!r}")

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _timestamper(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            _renderer(json),
        ],
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == _HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    root.setLevel(numeric_level)
    # uvicorn's own dictConfig (when something ran it with its default log_config)
    # gives these loggers handlers of their own that do not propagate: take them back,
    # or their lines would skip the format and the redaction.
    for name in _TAKEN_OVER_LOGGERS:
        logger = logging.getLogger(name)
        for existing in list(logger.handlers):
            logger.removeHandler(existing)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name, floor in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(floor, numeric_level))

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            _timestamper(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,  # lets tests capture logs (structlog.testing)
    )
