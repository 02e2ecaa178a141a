from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ConversationContact")


@_attrs_define
class ConversationContact:
    """
    Attributes:
        wa_id (None | str): Phone number (digits); null when only the BSUID is known.
        user_id (None | str): Business-scoped user id (BSUID), e.g. US.13491208655302741918.
        username (None | str):
        name (None | str):
        marketing_opt_out (bool): The customer stopped marketing messages (user_preferences).
    """

    wa_id: None | str
    user_id: None | str
    username: None | str
    name: None | str
    marketing_opt_out: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        wa_id: None | str
        wa_id = self.wa_id

        user_id: None | str
        user_id = self.user_id

        username: None | str
        username = self.username

        name: None | str
        name = self.name

        marketing_opt_out = self.marketing_opt_out

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "wa_id": wa_id,
                "user_id": user_id,
                "username": username,
                "name": name,
                "marketing_opt_out": marketing_opt_out,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_wa_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        wa_id = _parse_wa_id(d.pop("wa_id"))

        def _parse_user_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        user_id = _parse_user_id(d.pop("user_id"))

        def _parse_username(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        username = _parse_username(d.pop("username"))

        def _parse_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        name = _parse_name(d.pop("name"))

        marketing_opt_out = d.pop("marketing_opt_out")

        conversation_contact = cls(
            wa_id=wa_id,
            user_id=user_id,
            username=username,
            name=name,
            marketing_opt_out=marketing_opt_out,
        )

        conversation_contact.additional_properties = d
        return conversation_contact

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
