"""Fixtures of the webhook suites."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Api


@pytest.fixture
def tune(api: Api) -> Iterator[Callable[..., None]]:
    """Change the running app's settings for one test (a second app cannot share the
    process: Tortoise, the broker and the runtime are per process). The worker reads
    ``rt.settings`` on every delivery, so the change applies at once."""
    original = api.rt.settings

    def apply(**overrides: Any) -> None:
        api.rt.settings = original.model_copy(update=overrides)

    yield apply
    api.rt.settings = original
