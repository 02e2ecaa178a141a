from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="AdminAccount")


@_attrs_define
class AdminAccount:
    """An account as administration shows it: no access token, no app secret.

    Attributes:
        id (UUID):
        name (str):
        phone_number_id (str):
        display_phone_number (str):
        waba_id (None | str):
        messages_per_second (int):
        active_api_keys (int): Its keys that are not revoked
        created_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
    """

    id: UUID
    name: str
    phone_number_id: str
    display_phone_number: str
    waba_id: None | str
    messages_per_second: int
    active_api_keys: int
    created_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        name = self.name

        phone_number_id = self.phone_number_id

        display_phone_number = self.display_phone_number

        waba_id: None | str
        waba_id = self.waba_id

        messages_per_second = self.messages_per_second

        active_api_keys = self.active_api_keys

        created_at = self.created_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "phone_number_id": phone_number_id,
                "display_phone_number": display_phone_number,
                "waba_id": waba_id,
                "messages_per_second": messages_per_second,
                "active_api_keys": active_api_keys,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        name = d.pop("name")

        phone_number_id = d.pop("phone_number_id")

        display_phone_number = d.pop("display_phone_number")

        def _parse_waba_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        waba_id = _parse_waba_id(d.pop("waba_id"))

        messages_per_second = d.pop("messages_per_second")

        active_api_keys = d.pop("active_api_keys")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        admin_account = cls(
            id=id,
            name=name,
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            messages_per_second=messages_per_second,
            active_api_keys=active_api_keys,
            created_at=created_at,
        )

        admin_account.additional_properties = d
        return admin_account

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
