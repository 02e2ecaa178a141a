from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.template_category import TemplateCategory, check_template_category
from ..models.template_parameter_format import TemplateParameterFormat, check_template_parameter_format
from ..models.template_status import TemplateStatus, check_template_status

if TYPE_CHECKING:
    from ..models.template_components_item import TemplateComponentsItem
    from ..models.template_parameter_counts import TemplateParameterCounts


T = TypeVar("T", bound="Template")


@_attrs_define
class Template:
    """A template of the account's WhatsApp Business Account, as WhatsApp listed it.

    Attributes:
        name (str):
        language (str): Language code, e.g. en_US
        whatsapp_id (str):
        category (TemplateCategory):
        status (TemplateStatus):
        parameter_format (TemplateParameterFormat):
        components (list[TemplateComponentsItem]): WhatsApp's components (HEADER, BODY, FOOTER, BUTTONS) as it listed
            them
        parameter_counts (TemplateParameterCounts): Parameters a send gives each component that takes any: "header",
            "body", "button:<index>" (a URL button with a variable suffix, a copy-code button)
        updated_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
    """

    name: str
    language: str
    whatsapp_id: str
    category: TemplateCategory
    status: TemplateStatus
    parameter_format: TemplateParameterFormat
    components: list[TemplateComponentsItem]
    parameter_counts: TemplateParameterCounts
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        language = self.language

        whatsapp_id = self.whatsapp_id

        category: str = self.category

        status: str = self.status

        parameter_format: str = self.parameter_format

        components = []
        for components_item_data in self.components:
            components_item = components_item_data.to_dict()
            components.append(components_item)

        parameter_counts = self.parameter_counts.to_dict()

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "language": language,
                "whatsapp_id": whatsapp_id,
                "category": category,
                "status": status,
                "parameter_format": parameter_format,
                "components": components,
                "parameter_counts": parameter_counts,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.template_components_item import TemplateComponentsItem  # noqa: PLC0415
        from ..models.template_parameter_counts import TemplateParameterCounts  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        language = d.pop("language")

        whatsapp_id = d.pop("whatsapp_id")

        category = check_template_category(d.pop("category"))

        status = check_template_status(d.pop("status"))

        parameter_format = check_template_parameter_format(d.pop("parameter_format"))

        components = []
        _components = d.pop("components")
        for components_item_data in _components:
            components_item = TemplateComponentsItem.from_dict(components_item_data)

            components.append(components_item)

        parameter_counts = TemplateParameterCounts.from_dict(d.pop("parameter_counts"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        template = cls(
            name=name,
            language=language,
            whatsapp_id=whatsapp_id,
            category=category,
            status=status,
            parameter_format=parameter_format,
            components=components,
            parameter_counts=parameter_counts,
            updated_at=updated_at,
        )

        template.additional_properties = d
        return template

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
