from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="AccountChange")


@_attrs_define
class AccountChange:
    """The fields given change; absent or null, they stay. The phone number cannot change.

    Attributes:
        name (None | str | Unset): Text without the character U+0000
        display_phone_number (None | str | Unset): Text without the character U+0000
        waba_id (None | str | Unset): The WhatsApp Business Account ID (digits): templates come from it
        access_token (None | str | Unset): The Cloud API token; stored encrypted, never answered
        app_secret (None | str | Unset): The Meta app's secret (signs webhooks); not empty; never answered
        messages_per_second (int | None | Unset):
        phone_number_id (Any | Unset):
    """

    name: None | str | Unset = UNSET
    display_phone_number: None | str | Unset = UNSET
    waba_id: None | str | Unset = UNSET
    access_token: None | str | Unset = UNSET
    app_secret: None | str | Unset = UNSET
    messages_per_second: int | None | Unset = UNSET
    phone_number_id: Any | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

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

        access_token: None | str | Unset
        if isinstance(self.access_token, Unset):
            access_token = UNSET
        else:
            access_token = self.access_token

        app_secret: None | str | Unset
        if isinstance(self.app_secret, Unset):
            app_secret = UNSET
        else:
            app_secret = self.app_secret

        messages_per_second: int | None | Unset
        if isinstance(self.messages_per_second, Unset):
            messages_per_second = UNSET
        else:
            messages_per_second = self.messages_per_second

        phone_number_id = self.phone_number_id

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if display_phone_number is not UNSET:
            field_dict["display_phone_number"] = display_phone_number
        if waba_id is not UNSET:
            field_dict["waba_id"] = waba_id
        if access_token is not UNSET:
            field_dict["access_token"] = access_token
        if app_secret is not UNSET:
            field_dict["app_secret"] = app_secret
        if messages_per_second is not UNSET:
            field_dict["messages_per_second"] = messages_per_second
        if phone_number_id is not UNSET:
            field_dict["phone_number_id"] = phone_number_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

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

        def _parse_access_token(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        access_token = _parse_access_token(d.pop("access_token", UNSET))

        def _parse_app_secret(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        app_secret = _parse_app_secret(d.pop("app_secret", UNSET))

        def _parse_messages_per_second(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        messages_per_second = _parse_messages_per_second(d.pop("messages_per_second", UNSET))

        phone_number_id = d.pop("phone_number_id", UNSET)

        account_change = cls(
            name=name,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            access_token=access_token,
            app_secret=app_secret,
            messages_per_second=messages_per_second,
            phone_number_id=phone_number_id,
        )

        return account_change
