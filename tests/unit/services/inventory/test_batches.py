"""Pure rules of inventory jobs: when a batch is complete, and how long a push waits."""

from __future__ import annotations

from typing import Any

import pytest

from marketsync.errors import (
    AuthError,
    DuplicateRequestError,
    MarketplaceError,
    RateLimitError,
    TransportError,
)
from marketsync.services.inventory.batches import batch_results
from marketsync.services.inventory.runner import push_retry_delay

PUSHED = [
    {
        "barcode": "A",
        "quantity": 1,
        "salePrice": "10.00",
        "listPrice": "12.00",
        "currencyType": "TRY",
        "status": "PENDING",
        "failureReasons": [],
    },
    {
        "barcode": "B",
        "quantity": 2,
        "salePrice": "20.00",
        "listPrice": "10.00",
        "currencyType": "TRY",
        "status": "PENDING",
        "failureReasons": [],
    },
]


def answer(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"batchRequestId": "b-1", "items": list(entries)}


def entry(barcode: str, status: str, *reasons: str) -> dict[str, Any]:
    return {"requestItem": {"barcode": barcode}, "status": status, "failureReasons": list(reasons)}


def test_final_statuses_for_every_item_complete_the_batch() -> None:
    results = batch_results(
        PUSHED,
        answer(entry("B", "FAILED", "salePrice must not exceed listPrice"), entry("A", "SUCCESS")),
    )

    assert results == [
        {**PUSHED[0], "status": "SUCCESS", "failureReasons": []},
        {
            **PUSHED[1],
            "status": "FAILED",
            "failureReasons": ["salePrice must not exceed listPrice"],
        },
    ]


@pytest.mark.parametrize(
    "entries",
    [
        (entry("A", "SUCCESS"),),
        (entry("A", "SUCCESS"), entry("B", "PENDING")),
        (entry("A", "SUCCESS"), entry("B", "PROCESSING")),
        (entry("A", "SUCCESS"), {"status": "SUCCESS"}),
        (entry("A", "SUCCESS"), "B"),
        (),
    ],
)
def test_a_batch_with_an_item_not_final_is_not_complete(entries: tuple[Any, ...]) -> None:
    assert batch_results(PUSHED, {"items": list(entries)}) is None


def test_malformed_reasons_become_an_empty_list() -> None:
    results = batch_results(
        PUSHED[:1],
        answer({"requestItem": {"barcode": "A"}, "status": "FAILED", "failureReasons": "bad"}),
    )

    assert results is not None
    assert results[0]["failureReasons"] == []


@pytest.mark.parametrize(
    ("attempts", "error", "delay"),
    [
        (1, TransportError("down"), 5.0),
        (2, TransportError("down"), 10.0),
        (4, TransportError("down"), 40.0),
        (9, TransportError("down"), 40.0),
        (1, RateLimitError("slow", retry_after=30), 30.0),
        (3, RateLimitError("slow", retry_after=3), 20.0),
        (1, RateLimitError("slow"), 5.0),
    ],
)
def test_push_retry_delay(attempts: int, error: MarketplaceError, delay: float) -> None:
    assert push_retry_delay(attempts, error) == delay


def test_a_duplicate_request_is_not_retried() -> None:
    # Resending a body the marketplace refuses as a duplicate can only be refused again.
    assert not DuplicateRequestError("seen").retryable
    assert not AuthError("refused").retryable
