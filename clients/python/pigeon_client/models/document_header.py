from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.document_header_type import DocumentHeaderType, check_document_header_type

T = TypeVar("T", bound="DocumentHeader")


@_attrs_define
class DocumentHeader:
    """
    Attributes:
        type_ (DocumentHeaderType):
        document (Any): One of link (http or https) or id
    """

    type_: DocumentHeaderType
    document: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        document: Any
        document = self.document

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "document": document,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        type_ = check_document_header_type(d.pop("type"))

        def _parse_document(data: object) -> Any:
            return cast(Any, data)

        document = _parse_document(d.pop("document"))

        document_header = cls(
            type_=type_,
            document=document,
        )

        document_header.additional_properties = d
        return document_header

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
