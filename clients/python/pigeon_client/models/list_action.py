from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.list_section import ListSection


T = TypeVar("T", bound="ListAction")


@_attrs_define
class ListAction:
    """
    Attributes:
        button (str):
        sections (list[ListSection]): At most 10 rows in all
    """

    button: str
    sections: list[ListSection]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        button = self.button

        sections = []
        for sections_item_data in self.sections:
            sections_item = sections_item_data.to_dict()
            sections.append(sections_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "button": button,
                "sections": sections,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.list_section import ListSection  # noqa: PLC0415

        d = dict(src_dict)
        button = d.pop("button")

        sections = []
        _sections = d.pop("sections")
        for sections_item_data in _sections:
            sections_item = ListSection.from_dict(sections_item_data)

            sections.append(sections_item)

        list_action = cls(
            button=button,
            sections=sections,
        )

        list_action.additional_properties = d
        return list_action

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
