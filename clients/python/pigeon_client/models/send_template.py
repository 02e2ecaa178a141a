from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_template_type import SendTemplateType, check_send_template_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.reply_context import ReplyContext
    from ..models.template_content import TemplateContent


T = TypeVar("T", bound="SendTemplate")


@_attrs_define
class SendTemplate:
    """
    Attributes:
        type_ (SendTemplateType):
        template (TemplateContent):
        conversation_id (str | Unset):
        account_id (str | Unset):
        to (str | Unset): A phone number in E.164 digits (15551234567) or a business-scoped user id
            (US.13491208655302741918): the conversation with that contact, opened if new
        context (ReplyContext | Unset):
    """

    type_: SendTemplateType
    template: TemplateContent
    conversation_id: str | Unset = UNSET
    account_id: str | Unset = UNSET
    to: str | Unset = UNSET
    context: ReplyContext | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        template = self.template.to_dict()

        conversation_id = self.conversation_id

        account_id = self.account_id

        to = self.to

        context: dict[str, Any] | Unset = UNSET
        if not isinstance(self.context, Unset):
            context = self.context.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "template": template,
            }
        )
        if conversation_id is not UNSET:
            field_dict["conversation_id"] = conversation_id
        if account_id is not UNSET:
            field_dict["account_id"] = account_id
        if to is not UNSET:
            field_dict["to"] = to
        if context is not UNSET:
            field_dict["context"] = context

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.reply_context import ReplyContext  # noqa: PLC0415
        from ..models.template_content import TemplateContent  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_send_template_type(d.pop("type"))

        template = TemplateContent.from_dict(d.pop("template"))

        conversation_id = d.pop("conversation_id", UNSET)

        account_id = d.pop("account_id", UNSET)

        to = d.pop("to", UNSET)

        _context = d.pop("context", UNSET)
        context: ReplyContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = ReplyContext.from_dict(_context)

        send_template = cls(
            type_=type_,
            template=template,
            conversation_id=conversation_id,
            account_id=account_id,
            to=to,
            context=context,
        )

        send_template.additional_properties = d
        return send_template

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
