from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.template import Template


T = TypeVar("T", bound="ListTemplatesResponse200")


@_attrs_define
class ListTemplatesResponse200:
    """
    Attributes:
        templates (list[Template]):
        next_page_token (None | str):
        synced_at (datetime.datetime | None): When they were last listed from WhatsApp; null: never (sends are not
            checked) Example: 2026-11-25T14:03:07.012000Z.
        sync_failure (None | str): Why the last listing failed
    """

    templates: list[Template]
    next_page_token: None | str
    synced_at: datetime.datetime | None
    sync_failure: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        templates = []
        for templates_item_data in self.templates:
            templates_item = templates_item_data.to_dict()
            templates.append(templates_item)

        next_page_token: None | str
        next_page_token = self.next_page_token

        synced_at: None | str
        if isinstance(self.synced_at, datetime.datetime):
            synced_at = self.synced_at.isoformat()
        else:
            synced_at = self.synced_at

        sync_failure: None | str
        sync_failure = self.sync_failure

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "templates": templates,
                "next_page_token": next_page_token,
                "synced_at": synced_at,
                "sync_failure": sync_failure,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.template import Template  # noqa: PLC0415

        d = dict(src_dict)
        templates = []
        _templates = d.pop("templates")
        for templates_item_data in _templates:
            templates_item = Template.from_dict(templates_item_data)

            templates.append(templates_item)

        def _parse_next_page_token(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        next_page_token = _parse_next_page_token(d.pop("next_page_token"))

        def _parse_synced_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                synced_at_type_0 = datetime.datetime.fromisoformat(data)

                return synced_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        synced_at = _parse_synced_at(d.pop("synced_at"))

        def _parse_sync_failure(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sync_failure = _parse_sync_failure(d.pop("sync_failure"))

        list_templates_response_200 = cls(
            templates=templates,
            next_page_token=next_page_token,
            synced_at=synced_at,
            sync_failure=sync_failure,
        )

        list_templates_response_200.additional_properties = d
        return list_templates_response_200

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
