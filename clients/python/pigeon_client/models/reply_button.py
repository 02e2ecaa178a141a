from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.reply_button_type import ReplyButtonType, check_reply_button_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.button_reply import ButtonReply


T = TypeVar("T", bound="ReplyButton")


@_attrs_define
class ReplyButton:
    """
    Attributes:
        reply (ButtonReply):
        type_ (ReplyButtonType | Unset):  Default: 'reply'.
    """

    reply: ButtonReply
    type_: ReplyButtonType | Unset = "reply"
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
        from ..models.button_reply import ButtonReply  # noqa: PLC0415

        d = dict(src_dict)
        reply = ButtonReply.from_dict(d.pop("reply"))

        _type_ = d.pop("type", UNSET)
        type_: ReplyButtonType | Unset
        if isinstance(_type_, Unset):
            type_ = UNSET
        else:
            type_ = check_reply_button_type(_type_)

        reply_button = cls(
            reply=reply,
            type_=type_,
        )

        reply_button.additional_properties = d
        return reply_button

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
