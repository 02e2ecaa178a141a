from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.call_to_action_action_name import CallToActionActionName, check_call_to_action_action_name

if TYPE_CHECKING:
    from ..models.call_to_action_parameters import CallToActionParameters


T = TypeVar("T", bound="CallToActionAction")


@_attrs_define
class CallToActionAction:
    """
    Attributes:
        name (CallToActionActionName):
        parameters (CallToActionParameters):
    """

    name: CallToActionActionName
    parameters: CallToActionParameters
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name: str = self.name

        parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "parameters": parameters,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.call_to_action_parameters import CallToActionParameters  # noqa: PLC0415

        d = dict(src_dict)
        name = check_call_to_action_action_name(d.pop("name"))

        parameters = CallToActionParameters.from_dict(d.pop("parameters"))

        call_to_action_action = cls(
            name=name,
            parameters=parameters,
        )

        call_to_action_action.additional_properties = d
        return call_to_action_action

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
