from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_interactive_action_sections_item_rows_item import (
        SendRequestInteractiveActionSectionsItemRowsItem,
    )


T = TypeVar("T", bound="SendRequestInteractiveActionSectionsItem")


@_attrs_define
class SendRequestInteractiveActionSectionsItem:
    """
    Attributes:
        rows (list[SendRequestInteractiveActionSectionsItemRowsItem]):
        title (str | Unset):
    """

    rows: list[SendRequestInteractiveActionSectionsItemRowsItem]
    title: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for rows_item_data in self.rows:
            rows_item = rows_item_data.to_dict()
            rows.append(rows_item)

        title = self.title

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rows": rows,
            }
        )
        if title is not UNSET:
            field_dict["title"] = title

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_interactive_action_sections_item_rows_item import (
            SendRequestInteractiveActionSectionsItemRowsItem,  # noqa: PLC0415
        )

        d = dict(src_dict)
        rows = []
        _rows = d.pop("rows")
        for rows_item_data in _rows:
            rows_item = SendRequestInteractiveActionSectionsItemRowsItem.from_dict(rows_item_data)

            rows.append(rows_item)

        title = d.pop("title", UNSET)

        send_request_interactive_action_sections_item = cls(
            rows=rows,
            title=title,
        )

        send_request_interactive_action_sections_item.additional_properties = d
        return send_request_interactive_action_sections_item

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
