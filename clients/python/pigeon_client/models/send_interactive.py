from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_interactive_type import SendInteractiveType, check_send_interactive_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.interactive_buttons import InteractiveButtons
    from ..models.interactive_call_to_action import InteractiveCallToAction
    from ..models.interactive_list import InteractiveList
    from ..models.interactive_location_request import InteractiveLocationRequest
    from ..models.reply_context import ReplyContext


T = TypeVar("T", bound="SendInteractive")


@_attrs_define
class SendInteractive:
    """
    Attributes:
        type_ (SendInteractiveType):
        interactive (InteractiveButtons | InteractiveCallToAction | InteractiveList | InteractiveLocationRequest):
            Meta's interactive messages: `button` (1 to 3 reply buttons, ids and titles unique), `list` (1 to 10 sections,
            at most 10 rows in all, row ids unique; a section title is required when there are several; a text header only),
            `cta_url`, `location_request_message` (a body only). Unknown fields are dropped.
        conversation_id (str | Unset):
        account_id (str | Unset):
        to (str | Unset): A phone number in E.164 digits (15551234567) or a business-scoped user id
            (US.13491208655302741918): the conversation with that contact, opened if new
        context (ReplyContext | Unset):
    """

    type_: SendInteractiveType
    interactive: InteractiveButtons | InteractiveCallToAction | InteractiveList | InteractiveLocationRequest
    conversation_id: str | Unset = UNSET
    account_id: str | Unset = UNSET
    to: str | Unset = UNSET
    context: ReplyContext | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.interactive_buttons import InteractiveButtons  # noqa: PLC0415
        from ..models.interactive_call_to_action import InteractiveCallToAction  # noqa: PLC0415
        from ..models.interactive_list import InteractiveList  # noqa: PLC0415

        type_: str = self.type_

        interactive: dict[str, Any]
        if isinstance(self.interactive, InteractiveButtons):
            interactive = self.interactive.to_dict()
        elif isinstance(self.interactive, InteractiveList):
            interactive = self.interactive.to_dict()
        elif isinstance(self.interactive, InteractiveCallToAction):
            interactive = self.interactive.to_dict()
        else:
            interactive = self.interactive.to_dict()

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
                "interactive": interactive,
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
        from ..models.interactive_buttons import InteractiveButtons  # noqa: PLC0415
        from ..models.interactive_call_to_action import InteractiveCallToAction  # noqa: PLC0415
        from ..models.interactive_list import InteractiveList  # noqa: PLC0415
        from ..models.interactive_location_request import InteractiveLocationRequest  # noqa: PLC0415
        from ..models.reply_context import ReplyContext  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_send_interactive_type(d.pop("type"))

        def _parse_interactive(
            data: object,
        ) -> InteractiveButtons | InteractiveCallToAction | InteractiveList | InteractiveLocationRequest:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                interactive_type_0 = InteractiveButtons.from_dict(data)

                return interactive_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                interactive_type_1 = InteractiveList.from_dict(data)

                return interactive_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                interactive_type_2 = InteractiveCallToAction.from_dict(data)

                return interactive_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            interactive_type_3 = InteractiveLocationRequest.from_dict(data)

            return interactive_type_3

        interactive = _parse_interactive(d.pop("interactive"))

        conversation_id = d.pop("conversation_id", UNSET)

        account_id = d.pop("account_id", UNSET)

        to = d.pop("to", UNSET)

        _context = d.pop("context", UNSET)
        context: ReplyContext | Unset
        if isinstance(_context, Unset):
            context = UNSET
        else:
            context = ReplyContext.from_dict(_context)

        send_interactive = cls(
            type_=type_,
            interactive=interactive,
            conversation_id=conversation_id,
            account_id=account_id,
            to=to,
            context=context,
        )

        send_interactive.additional_properties = d
        return send_interactive

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
