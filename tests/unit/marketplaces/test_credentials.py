"""Credential shapes per marketplace, as registration checks them in live mode."""

from __future__ import annotations

import pytest

from marketsync.marketplaces.credentials import check_credentials


@pytest.mark.parametrize(
    ("marketplace", "store_id", "token"),
    [
        ("TRENDYOL", "123456", "apiKey01:apiSecret02"),
        ("ETSY", "5551234", "12345678.refresh-token"),
        ("SHOPIFY", "demo-shop-1", "shpat_0123456789abcdef"),
        ("AMAZON", "A2EXAMPLE1SELLER", "Atzr|IwEBIexample"),
    ],
)
def test_well_shaped_credentials_pass(marketplace: str, store_id: str, token: str) -> None:
    assert check_credentials(marketplace, store_id, token) == []


@pytest.mark.parametrize(
    ("marketplace", "store_id", "token", "fields"),
    [
        ("TRENDYOL", "seller-1", "apiKey:apiSecret", ["externalStoreId"]),
        ("TRENDYOL", "123456", "tyKeyOnly", ["accessToken"]),
        ("TRENDYOL", "123456", "tyKey01:", ["accessToken"]),
        ("TRENDYOL", "0123", "key :secret", ["externalStoreId", "accessToken"]),
        ("ETSY", "shop-1", "refresh", ["externalStoreId"]),
        ("ETSY", "5551234", "refresh token", ["accessToken"]),
        ("SHOPIFY", "Demo.myshopify.com", "shpat_x", ["externalStoreId"]),
        ("SHOPIFY", "demo", "shpat\nx", ["accessToken"]),
        ("AMAZON", "seller-1", "Atzr|x", ["externalStoreId"]),
    ],
)
def test_misshaped_credentials_name_their_field(
    marketplace: str, store_id: str, token: str, fields: list[str]
) -> None:
    problems = check_credentials(marketplace, store_id, token)

    assert [field for field, _ in problems] == fields
    assert all(token not in message for _, message in problems)
