"""GraphQL documents and small helpers the API tests share."""

from __future__ import annotations

from typing import Any

STORE_FIELDS = """
  id organizationId marketplace externalStoreId storeName currency syncStatus lastSyncAt
  importedOrders createdAt updatedAt
"""

REGISTER_STORE = f"""
mutation($input: RegisterStoreInput!) {{ registerStore(input: $input) {{
  storeId syncToken created userErrors {{ field message code }}
  store {{ {STORE_FIELDS} }} }} }}
"""

LOG_FIELDS = """
  id receipt status orderId amount currency errorDetails attempt nextRetryAt importedAt
  createdAt updatedAt
"""

IMPORT_ORDER = f"""
mutation($input: ImportOrderInput!) {{ importOrder(input: $input) {{
  duplicate userErrors {{ field message code }} syncLog {{ {LOG_FIELDS} }} }} }}
"""

SYNC_STATUS = """
query($token: UUID!) { syncStatus(syncToken: $token) {
  storeId lastSyncAt importedOrders syncStatus rateLimitedCount pendingCount failedCount } }
"""

STORE_LOGS = f"""
query($id: UUID!, $status: SyncLogStatus, $first: Int, $after: String) {{ store(id: $id) {{
  {STORE_FIELDS}
  syncLogs(status: $status, first: $first, after: $after) {{
    totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor node {{ {LOG_FIELDS} }} }} }}
}} }}
"""


def store_input(org: str, external_id: str = "shop-1", **overrides: Any) -> dict[str, Any]:
    values = {
        "organizationId": org,
        "marketplace": "ETSY",
        "externalStoreId": external_id,
        "storeName": "Demo Shop",
        "accessToken": "etsy-access-token-SECRET-123",
        "currency": "USD",
    }
    values.update(overrides)
    return values


def error_codes(body: dict[str, Any]) -> list[str]:
    return [error.get("extensions", {}).get("code") for error in body.get("errors") or []]
