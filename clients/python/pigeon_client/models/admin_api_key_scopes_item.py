from typing import Literal

AdminApiKeyScopesItem = Literal["read", "send", "webhooks"]

ADMIN_API_KEY_SCOPES_ITEM_VALUES: set[AdminApiKeyScopesItem] = {
    "read",
    "send",
    "webhooks",
}


def check_admin_api_key_scopes_item(value: str) -> AdminApiKeyScopesItem:
    if value in ADMIN_API_KEY_SCOPES_ITEM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ADMIN_API_KEY_SCOPES_ITEM_VALUES!r}")
