from typing import Literal

CreateApiKeyBodyScopesItem = Literal["read", "send", "webhooks"]

CREATE_API_KEY_BODY_SCOPES_ITEM_VALUES: set[CreateApiKeyBodyScopesItem] = {
    "read",
    "send",
    "webhooks",
}


def check_create_api_key_body_scopes_item(value: str) -> CreateApiKeyBodyScopesItem:
    if value in CREATE_API_KEY_BODY_SCOPES_ITEM_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {CREATE_API_KEY_BODY_SCOPES_ITEM_VALUES!r}")
