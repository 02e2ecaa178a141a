from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_request_interactive_action_buttons_item_type import (
    SendRequestInteractiveActionButtonsItemType,
    check_send_request_interactive_action_buttons_item_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_interactive_action_buttons_item_reply import (
        SendRequestInteractiveActionButtonsItemReply,
    )


T = TypeVar("T", bound="SendRequestInteractiveActionButtonsItem")


@_attrs_define
class SendRequestInteractiveActionButtonsItem:
    """
    Attributes:
        reply (SendRequestInteractiveActionButtonsItemReply):
        type_ (SendRequestInteractiveActionButtonsItemType | Unset):
    """

    reply: SendRequestInteractiveActionButtonsItemReply
    type_: SendRequestInteractiveActionButtonsItemType | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        reply = self.reply.to_dict()

        type_: str | Unset = UNSET
        if not isinstance(self.type_, Unset):
            type_ = self.type_

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "reply": reply,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_interactive_action_buttons_item_reply import (
            SendRequestInteractiveActionButtonsItemReply,  # noqa: PLC0415
        )

        d = dict(src_dict)
        reply = SendRequestInteractiveActionButtonsItemReply.from_dict(d.pop("reply"))

        _type_ = d.pop("type", UNSET)
        type_: SendRequestInteractiveActionButtonsItemType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_send_request_interactive_action_buttons_item_type(_type_)

        send_request_interactive_action_buttons_item = cls(
            reply=reply,
            type_=type_,
        )

        send_request_interactive_action_buttons_item.additional_properties = d
        return send_request_interactive_action_buttons_item

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
