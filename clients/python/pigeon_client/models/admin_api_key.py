from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.admin_api_key_scopes_item import AdminApiKeyScopesItem, check_admin_api_key_scopes_item
from ..types import UNSET, Unset

T = TypeVar("T", bound="AdminApiKey")


@_attrs_define
class AdminApiKey:
    """An API key: its first characters (`prefix`), never the key.

    Attributes:
        id (UUID):
        account_id (UUID):
        prefix (str):
        scopes (list[AdminApiKeyScopesItem]):
        created_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
        revoked_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        api_key (str | Unset): The key itself: only in the answer of its creation
    """

    id: UUID
    account_id: UUID
    prefix: str
    scopes: list[AdminApiKeyScopesItem]
    created_at: datetime.datetime
    revoked_at: datetime.datetime | None
    api_key: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        account_id = str(self.account_id)

        prefix = self.prefix

        scopes = []
        for scopes_item_data in self.scopes:
            scopes_item: str = scopes_item_data
            scopes.append(scopes_item)

        created_at = self.created_at.isoformat()

        revoked_at: None | str
        if isinstance(self.revoked_at, datetime.datetime):
            revoked_at = self.revoked_at.isoformat()
        else:
            revoked_at = self.revoked_at

        api_key = self.api_key

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "account_id": account_id,
                "prefix": prefix,
                "scopes": scopes,
                "created_at": created_at,
                "revoked_at": revoked_at,
            }
        )
        if api_key is not UNSET:
            field_dict["api_key"] = api_key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        account_id = UUID(d.pop("account_id"))

        prefix = d.pop("prefix")

        scopes = []
        _scopes = d.pop("scopes")
        for scopes_item_data in _scopes:
            scopes_item = check_admin_api_key_scopes_item(scopes_item_data)

            scopes.append(scopes_item)

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_revoked_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                revoked_at_type_0 = datetime.datetime.fromisoformat(data)

                return revoked_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        revoked_at = _parse_revoked_at(d.pop("revoked_at"))

        api_key = d.pop("api_key", UNSET)

        admin_api_key = cls(
            id=id,
            account_id=account_id,
            prefix=prefix,
            scopes=scopes,
            created_at=created_at,
            revoked_at=revoked_at,
            api_key=api_key,
        )

        admin_api_key.additional_properties = d
        return admin_api_key

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
