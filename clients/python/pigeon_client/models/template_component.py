from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.template_component_parameters_item import TemplateComponentParametersItem


T = TypeVar("T", bound="TemplateComponent")


@_attrs_define
class TemplateComponent:
    """A template component as WhatsApp takes it: checked, then stored and sent as given.

    Attributes:
        type_ (str):
        parameters (list[TemplateComponentParametersItem] | Unset):
    """

    type_: str
    parameters: list[TemplateComponentParametersItem] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        parameters: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.parameters, Unset):
            parameters = []
            for parameters_item_data in self.parameters:
                parameters_item = parameters_item_data.to_dict()
                parameters.append(parameters_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if parameters is not UNSET:
            field_dict["parameters"] = parameters

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.template_component_parameters_item import TemplateComponentParametersItem  # noqa: PLC0415

        d = dict(src_dict)
        type_ = d.pop("type")

        _parameters = d.pop("parameters", UNSET)
        parameters: list[TemplateComponentParametersItem] | Unset = UNSET
        if _parameters is not UNSET:
            parameters = []
            for parameters_item_data in _parameters:
                parameters_item = TemplateComponentParametersItem.from_dict(parameters_item_data)

                parameters.append(parameters_item)

        template_component = cls(
            type_=type_,
            parameters=parameters,
        )

        template_component.additional_properties = d
        return template_component

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
