from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_request_interactive_action_name import (
    SendRequestInteractiveActionName,
    check_send_request_interactive_action_name,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_interactive_action_buttons_item import SendRequestInteractiveActionButtonsItem
    from ..models.send_request_interactive_action_parameters import SendRequestInteractiveActionParameters
    from ..models.send_request_interactive_action_sections_item import (
        SendRequestInteractiveActionSectionsItem,
    )


T = TypeVar("T", bound="SendRequestInteractiveAction")


@_attrs_define
class SendRequestInteractiveAction:
    """By type: buttons; button and sections; name cta_url and parameters; name send_location

    Attributes:
        buttons (list[SendRequestInteractiveActionButtonsItem] | Unset):
        button (str | Unset):
        sections (list[SendRequestInteractiveActionSectionsItem] | Unset):
        name (SendRequestInteractiveActionName | Unset):
        parameters (SendRequestInteractiveActionParameters | Unset):
    """

    buttons: list[SendRequestInteractiveActionButtonsItem] | Unset = UNSET
    button: str | Unset = UNSET
    sections: list[SendRequestInteractiveActionSectionsItem] | Unset = UNSET
    name: SendRequestInteractiveActionName | Unset = UNSET
    parameters: SendRequestInteractiveActionParameters | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        buttons: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.buttons, Unset):
            buttons = []
            for buttons_item_data in self.buttons:
                buttons_item = buttons_item_data.to_dict()
                buttons.append(buttons_item)

        button = self.button

        sections: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sections, Unset):
            sections = []
            for sections_item_data in self.sections:
                sections_item = sections_item_data.to_dict()
                sections.append(sections_item)

        name: str | Unset = UNSET
        if not isinstance(self.name, Unset):
            name = self.name

        parameters: dict[str, Any] | Unset = UNSET
        if not isinstance(self.parameters, Unset):
            parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if buttons is not UNSET:
            field_dict["buttons"] = buttons
        if button is not UNSET:
            field_dict["button"] = button
        if sections is not UNSET:
            field_dict["sections"] = sections
        if name is not UNSET:
            field_dict["name"] = name
        if parameters is not UNSET:
            field_dict["parameters"] = parameters

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_interactive_action_buttons_item import (
            SendRequestInteractiveActionButtonsItem,  # noqa: PLC0415
        )
        from ..models.send_request_interactive_action_parameters import SendRequestInteractiveActionParameters  # noqa: PLC0415
        from ..models.send_request_interactive_action_sections_item import (
            SendRequestInteractiveActionSectionsItem,  # noqa: PLC0415
        )

        d = dict(src_dict)
        _buttons = d.pop("buttons", UNSET)
        buttons: list[SendRequestInteractiveActionButtonsItem] | Unset = UNSET
        if _buttons is not UNSET:
            buttons = []
            for buttons_item_data in _buttons:
                buttons_item = SendRequestInteractiveActionButtonsItem.from_dict(buttons_item_data)

                buttons.append(buttons_item)

        button = d.pop("button", UNSET)

        _sections = d.pop("sections", UNSET)
        sections: list[SendRequestInteractiveActionSectionsItem] | Unset = UNSET
        if _sections is not UNSET:
            sections = []
            for sections_item_data in _sections:
                sections_item = SendRequestInteractiveActionSectionsItem.from_dict(sections_item_data)

                sections.append(sections_item)

        _name = d.pop("name", UNSET)
        name: SendRequestInteractiveActionName | Unset
        if isinstance(_name, Unset):
            name = UNSET
        else:
            name = check_send_request_interactive_action_name(_name)

        _parameters = d.pop("parameters", UNSET)
        parameters: SendRequestInteractiveActionParameters | Unset
        if isinstance(_parameters, Unset):
            parameters = UNSET
        else:
            parameters = SendRequestInteractiveActionParameters.from_dict(_parameters)

        send_request_interactive_action = cls(
            buttons=buttons,
            button=button,
            sections=sections,
            name=name,
            parameters=parameters,
        )

        send_request_interactive_action.additional_properties = d
        return send_request_interactive_action

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
