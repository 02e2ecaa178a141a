from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateAccountBody")


@_attrs_define
class CreateAccountBody:
    """
    Attributes:
        name (str):
        phone_number_id (str): Meta's Phone Number ID (digits); cannot change
        access_token (str): The Cloud API token; stored encrypted, never answered
        app_secret (str): The Meta app's secret (signs webhooks); not empty; never answered
        display_phone_number (str | Unset):
        waba_id (str | Unset): The WhatsApp Business Account ID (digits): templates come from it
        messages_per_second (int | Unset):
    """

    name: str
    phone_number_id: str
    access_token: str
    app_secret: str
    display_phone_number: str | Unset = UNSET
    waba_id: str | Unset = UNSET
    messages_per_second: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        phone_number_id = self.phone_number_id

        access_token = self.access_token

        app_secret = self.app_secret

        display_phone_number = self.display_phone_number

        waba_id = self.waba_id

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

        display_phone_number = d.pop("display_phone_number", UNSET)

        waba_id = d.pop("waba_id", UNSET)

        messages_per_second = d.pop("messages_per_second", UNSET)

        create_account_body = cls(
            name=name,
            phone_number_id=phone_number_id,
            access_token=access_token,
            app_secret=app_secret,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            messages_per_second=messages_per_second,
        )

        return create_account_body
