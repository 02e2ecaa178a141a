from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="VideoContent")


@_attrs_define
class VideoContent:
    """
    Attributes:
        link (str | Unset): An http(s) URL
        id (str | Unset):
        media_id (str | Unset): The id POST /media answered (a UUID)
        caption (str | Unset):  Default: ''.
    """

    link: str | Unset = UNSET
    id: str | Unset = UNSET
    media_id: str | Unset = UNSET
    caption: str | Unset = ""
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        link = self.link

        id = self.id

        media_id = self.media_id

        caption = self.caption

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if link is not UNSET:
            field_dict["link"] = link
        if id is not UNSET:
            field_dict["id"] = id
        if media_id is not UNSET:
            field_dict["media_id"] = media_id
        if caption is not UNSET:
            field_dict["caption"] = caption

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        link = d.pop("link", UNSET)

        id = d.pop("id", UNSET)

        media_id = d.pop("media_id", UNSET)

        caption = d.pop("caption", UNSET)

        video_content = cls(
            link=link,
            id=id,
            media_id=media_id,
            caption=caption,
        )

        video_content.additional_properties = d
        return video_content

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
