from tests.conftest import ORG, Api

REGISTER = """
mutation($input: RegisterStoreInput!) { registerStore(input: $input) {
  storeId syncToken created userErrors { field message code }
  store { id syncStatus importedOrders currency } } }
"""


async def test_register_store(api: Api) -> None:
    body = await api.gql(REGISTER, {"input": {
        "organizationId": ORG, "marketplace": "ETSY", "externalStoreId": "s1",
        "storeName": "Shop", "accessToken": "tok-secret", "currency": "USD"}}, key=api.key)
    assert body["data"]["registerStore"]["created"] is True, body
