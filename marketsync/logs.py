"""structlog set-up: key-value lines for people, JSON for machines; secrets never logged."""

from __future__ import annotations

import logging
import sys

import structlog

REDACTED_KEYS = frozenset(
    {
        "access_token",
        "accesstoken",
        "secret",
        "signing_secret",
        "api_key",
        "authorization",
        "password",
        "token",
    }
)


def _redact(
    _: object, __: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    for key in list(event_dict):
        if key.lower() in REDACTED_KEYS:
            event_dict[key] = "<redacted>"
    return event_dict


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,  # lets tests capture logs (structlog.testing)
    )
