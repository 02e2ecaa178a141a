from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="NewAccount")


@_attrs_define
class NewAccount:
    """
    Attributes:
        name (str): Text without the character U+0000
        phone_number_id (str): Meta's Phone Number ID (digits)
        access_token (str): The Cloud API token; stored encrypted, never answered
        app_secret (str): The Meta app's secret (signs webhooks); not empty; never answered
        display_phone_number (None | str | Unset): Text without the character U+0000
        waba_id (None | str | Unset): The WhatsApp Business Account ID (digits): templates come from it
        messages_per_second (int | None | Unset):
    """

    name: str
    phone_number_id: str
    access_token: str
    app_secret: str
    display_phone_number: None | str | Unset = UNSET
    waba_id: None | str | Unset = UNSET
    messages_per_second: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        phone_number_id = self.phone_number_id

        access_token = self.access_token

        app_secret = self.app_secret

        display_phone_number: None | str | Unset
        if isinstance(self.display_phone_number, Unset):
            display_phone_number = UNSET
        else:
            display_phone_number = self.display_phone_number

        waba_id: None | str | Unset
        if isinstance(self.waba_id, Unset):
            waba_id = UNSET
        else:
            waba_id = self.waba_id

        messages_per_second: int | None | Unset
        if isinstance(self.messages_per_second, Unset):
            messages_per_second = UNSET
        else:
            messages_per_second = self.messages_per_second

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "phone_number_id": phone_number_id,
                "access_token": access_token,
                "app_secret": app_secret,
            }
        )
        if display_phone_number is not UNSET:
            field_dict["display_phone_number"] = display_phone_number
        if waba_id is not UNSET:
            field_dict["waba_id"] = waba_id
        if messages_per_second is not UNSET:
            field_dict["messages_per_second"] = messages_per_second

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        phone_number_id = d.pop("phone_number_id")

        access_token = d.pop("access_token")

        app_secret = d.pop("app_secret")

        def _parse_display_phone_number(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        display_phone_number = _parse_display_phone_number(d.pop("display_phone_number", UNSET))

        def _parse_waba_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        waba_id = _parse_waba_id(d.pop("waba_id", UNSET))

        def _parse_messages_per_second(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        messages_per_second = _parse_messages_per_second(d.pop("messages_per_second", UNSET))

        new_account = cls(
            name=name,
            phone_number_id=phone_number_id,
            access_token=access_token,
            app_secret=app_secret,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            messages_per_second=messages_per_second,
        )

        return new_account
