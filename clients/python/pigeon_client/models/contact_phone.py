from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ContactPhone")


@_attrs_define
class ContactPhone:
    """
    Attributes:
        phone (str | Unset):  Default: ''.
        type_ (str | Unset):  Default: ''.
        wa_id (str | Unset):  Default: ''.
    """

    phone: str | Unset = ""
    type_: str | Unset = ""
    wa_id: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        phone = self.phone

        type_ = self.type_

        wa_id = self.wa_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if phone is not UNSET:
            field_dict["phone"] = phone
        if type_ is not UNSET:
            field_dict["type"] = type_
        if wa_id is not UNSET:
            field_dict["wa_id"] = wa_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        phone = d.pop("phone", UNSET)

        type_ = d.pop("type", UNSET)

        wa_id = d.pop("wa_id", UNSET)

        contact_phone = cls(
            phone=phone,
            type_=type_,
            wa_id=wa_id,
        )

        contact_phone.additional_properties = d
        return contact_phone

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
