"""The shape of a store's credentials in live mode, checked without calling the marketplace.

``check_credentials`` answers a list of (field, message), empty when the shape fits
the contract's table:

    TRENDYOL  externalStoreId numeric sellerId        accessToken `apiKey:apiSecret`
    ETSY      externalStoreId numeric shop_id         accessToken an OAuth refresh token
    SHOPIFY   externalStoreId shop name [a-z0-9-]     accessToken an Admin API token
    AMAZON    externalStoreId selling partner id      accessToken an LWA refresh token
              (upper-case letters and digits)          (``Atzr|…``)

Tokens other than Trendyol's are only checked for what would break a header: no
whitespace or control characters.
"""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"[1-9][0-9]{0,19}")
_SHOP = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_SELLER = re.compile(r"A[0-9A-Z]{7,19}")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

STORE_ID = "externalStoreId"
TOKEN = "accessToken"  # noqa: S105  (a field name)
_STORE_IDS = {
    "TRENDYOL": (_NUMERIC, "a Trendyol externalStoreId is the numeric sellerId"),
    "ETSY": (_NUMERIC, "an Etsy externalStoreId is the numeric shop_id"),
    "SHOPIFY": (_SHOP, "a Shopify externalStoreId is the shop name (x of x.myshopify.com)"),
    "AMAZON": (_SELLER, "an Amazon externalStoreId is the selling partner id (e.g. A2EXAMPLE1)"),
}


def check_credentials(
    marketplace: str, external_store_id: str, access_token: str
) -> list[tuple[str, str]]:
    name = marketplace.upper()
    problems: list[tuple[str, str]] = []
    shape = _STORE_IDS.get(name)
    if shape is not None and not shape[0].fullmatch(external_store_id):
        problems.append((STORE_ID, shape[1]))
    if name == "TRENDYOL":
        key, colon, secret = access_token.partition(":")
        if not colon or not _HEADER_SAFE.fullmatch(key) or not _HEADER_SAFE.fullmatch(secret):
            problems.append((TOKEN, "a Trendyol accessToken is `apiKey:apiSecret`"))
    elif not _HEADER_SAFE.fullmatch(access_token):
        problems.append((TOKEN, "the accessToken must not contain spaces or control characters"))
    return problems
