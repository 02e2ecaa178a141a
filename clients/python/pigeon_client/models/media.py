from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.media_status import MediaStatus, check_media_status

T = TypeVar("T", bound="Media")


@_attrs_define
class Media:
    """A media file: one a customer sent (copied from WhatsApp, `pending` until then) or one uploaded with POST /media.
    `size` and `sha256` are null until it is stored.

        Attributes:
            id (UUID):
            status (MediaStatus): deleted: its bytes were deleted after the retention (MEDIA_RETENTION_DAYS)
            mime_type (str):
            size (int | None):
            sha256 (None | str):
            filename (str):
            caption (str):
            failure_reason (None | str): Why it will not be stored: media_not_found (WhatsApp no longer has it),
                sha256_mismatch, size_mismatch, media_too_large, or WhatsApp's error code
    """

    id: UUID
    status: MediaStatus
    mime_type: str
    size: int | None
    sha256: None | str
    filename: str
    caption: str
    failure_reason: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        status: str = self.status

        mime_type = self.mime_type

        size: int | None
        size = self.size

        sha256: None | str
        sha256 = self.sha256

        filename = self.filename

        caption = self.caption

        failure_reason: None | str
        failure_reason = self.failure_reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "mime_type": mime_type,
                "size": size,
                "sha256": sha256,
                "filename": filename,
                "caption": caption,
                "failure_reason": failure_reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        status = check_media_status(d.pop("status"))

        mime_type = d.pop("mime_type")

        def _parse_size(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        size = _parse_size(d.pop("size"))

        def _parse_sha256(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        sha256 = _parse_sha256(d.pop("sha256"))

        filename = d.pop("filename")

        caption = d.pop("caption")

        def _parse_failure_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        failure_reason = _parse_failure_reason(d.pop("failure_reason"))

        media = cls(
            id=id,
            status=status,
            mime_type=mime_type,
            size=size,
            sha256=sha256,
            filename=filename,
            caption=caption,
            failure_reason=failure_reason,
        )

        media.additional_properties = d
        return media

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
