from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_request_interactive_type import (
    SendRequestInteractiveType,
    check_send_request_interactive_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_interactive_action import SendRequestInteractiveAction
    from ..models.send_request_interactive_body import SendRequestInteractiveBody
    from ..models.send_request_interactive_footer import SendRequestInteractiveFooter
    from ..models.send_request_interactive_header import SendRequestInteractiveHeader


T = TypeVar("T", bound="SendRequestInteractive")


@_attrs_define
class SendRequestInteractive:
    """Meta's interactive messages: `button` (1 to 3 reply buttons, ids and titles unique), `list` (1 to 10 sections, at
    most 10 rows in all, row ids unique; a section title is required when there are several; a text header only),
    `cta_url`, `location_request_message` (a body only). Unknown fields are dropped.

        Attributes:
            type_ (SendRequestInteractiveType):
            body (SendRequestInteractiveBody):
            action (SendRequestInteractiveAction): By type: buttons; button and sections; name cta_url and parameters; name
                send_location
            header (SendRequestInteractiveHeader | Unset):
            footer (SendRequestInteractiveFooter | Unset):
    """

    type_: SendRequestInteractiveType
    body: SendRequestInteractiveBody
    action: SendRequestInteractiveAction
    header: SendRequestInteractiveHeader | Unset = UNSET
    footer: SendRequestInteractiveFooter | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        body = self.body.to_dict()

        action = self.action.to_dict()

        header: dict[str, Any] | Unset = UNSET
        if not isinstance(self.header, Unset):
            header = self.header.to_dict()

        footer: dict[str, Any] | Unset = UNSET
        if not isinstance(self.footer, Unset):
            footer = self.footer.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "body": body,
                "action": action,
            }
        )
        if header is not UNSET:
            field_dict["header"] = header
        if footer is not UNSET:
            field_dict["footer"] = footer

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_interactive_action import SendRequestInteractiveAction  # noqa: PLC0415
        from ..models.send_request_interactive_body import SendRequestInteractiveBody  # noqa: PLC0415
        from ..models.send_request_interactive_footer import SendRequestInteractiveFooter  # noqa: PLC0415
        from ..models.send_request_interactive_header import SendRequestInteractiveHeader  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_send_request_interactive_type(d.pop("type"))

        body = SendRequestInteractiveBody.from_dict(d.pop("body"))

        action = SendRequestInteractiveAction.from_dict(d.pop("action"))

        _header = d.pop("header", UNSET)
        header: SendRequestInteractiveHeader | Unset
        if isinstance(_header, Unset):
            header = UNSET
        else:
            header = SendRequestInteractiveHeader.from_dict(_header)

        _footer = d.pop("footer", UNSET)
        footer: SendRequestInteractiveFooter | Unset
        if isinstance(_footer, Unset):
            footer = UNSET
        else:
            footer = SendRequestInteractiveFooter.from_dict(_footer)

        send_request_interactive = cls(
            type_=type_,
            body=body,
            action=action,
            header=header,
            footer=footer,
        )

        send_request_interactive.additional_properties = d
        return send_request_interactive

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
