from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.interactive_location_request_type import (
    InteractiveLocationRequestType,
    check_interactive_location_request_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.interactive_body import InteractiveBody
    from ..models.location_request_action import LocationRequestAction


T = TypeVar("T", bound="InteractiveLocationRequest")


@_attrs_define
class InteractiveLocationRequest:
    """
    Attributes:
        type_ (InteractiveLocationRequestType):
        body (InteractiveBody):
        action (LocationRequestAction):
        header (Any | Unset):
        footer (Any | Unset):
    """

    type_: InteractiveLocationRequestType
    body: InteractiveBody
    action: LocationRequestAction
    header: Any | Unset = UNSET
    footer: Any | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        body = self.body.to_dict()

        action = self.action.to_dict()

        header = self.header

        footer = self.footer

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
        from ..models.interactive_body import InteractiveBody  # noqa: PLC0415
        from ..models.location_request_action import LocationRequestAction  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_interactive_location_request_type(d.pop("type"))

        body = InteractiveBody.from_dict(d.pop("body"))

        action = LocationRequestAction.from_dict(d.pop("action"))

        header = d.pop("header", UNSET)

        footer = d.pop("footer", UNSET)

        interactive_location_request = cls(
            type_=type_,
            body=body,
            action=action,
            header=header,
            footer=footer,
        )

        interactive_location_request.additional_properties = d
        return interactive_location_request

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
