from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.send_request_interactive_header_type import (
    SendRequestInteractiveHeaderType,
    check_send_request_interactive_header_type,
)
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.send_request_interactive_header_document import SendRequestInteractiveHeaderDocument
    from ..models.send_request_interactive_header_image import SendRequestInteractiveHeaderImage
    from ..models.send_request_interactive_header_video import SendRequestInteractiveHeaderVideo


T = TypeVar("T", bound="SendRequestInteractiveHeader")


@_attrs_define
class SendRequestInteractiveHeader:
    """
    Attributes:
        type_ (SendRequestInteractiveHeaderType):
        text (str | Unset):
        image (SendRequestInteractiveHeaderImage | Unset): One of link (http or https) or id
        video (SendRequestInteractiveHeaderVideo | Unset): One of link (http or https) or id
        document (SendRequestInteractiveHeaderDocument | Unset): One of link (http or https) or id
    """

    type_: SendRequestInteractiveHeaderType
    text: str | Unset = UNSET
    image: SendRequestInteractiveHeaderImage | Unset = UNSET
    video: SendRequestInteractiveHeaderVideo | Unset = UNSET
    document: SendRequestInteractiveHeaderDocument | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        type_: str = self.type_

        text = self.text

        image: dict[str, Any] | Unset = UNSET
        if not isinstance(self.image, Unset):
            image = self.image.to_dict()

        video: dict[str, Any] | Unset = UNSET
        if not isinstance(self.video, Unset):
            video = self.video.to_dict()

        document: dict[str, Any] | Unset = UNSET
        if not isinstance(self.document, Unset):
            document = self.document.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
            }
        )
        if text is not UNSET:
            field_dict["text"] = text
        if image is not UNSET:
            field_dict["image"] = image
        if video is not UNSET:
            field_dict["video"] = video
        if document is not UNSET:
            field_dict["document"] = document

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.send_request_interactive_header_document import SendRequestInteractiveHeaderDocument  # noqa: PLC0415
        from ..models.send_request_interactive_header_image import SendRequestInteractiveHeaderImage  # noqa: PLC0415
        from ..models.send_request_interactive_header_video import SendRequestInteractiveHeaderVideo  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_send_request_interactive_header_type(d.pop("type"))

        text = d.pop("text", UNSET)

        _image = d.pop("image", UNSET)
        image: SendRequestInteractiveHeaderImage | Unset
        if isinstance(_image, Unset):
            image = UNSET
        else:
            image = SendRequestInteractiveHeaderImage.from_dict(_image)

        _video = d.pop("video", UNSET)
        video: SendRequestInteractiveHeaderVideo | Unset
        if isinstance(_video, Unset):
            video = UNSET
        else:
            video = SendRequestInteractiveHeaderVideo.from_dict(_video)

        _document = d.pop("document", UNSET)
        document: SendRequestInteractiveHeaderDocument | Unset
        if isinstance(_document, Unset):
            document = UNSET
        else:
            document = SendRequestInteractiveHeaderDocument.from_dict(_document)

        send_request_interactive_header = cls(
            type_=type_,
            text=text,
            image=image,
            video=video,
            document=document,
        )

        send_request_interactive_header.additional_properties = d
        return send_request_interactive_header

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
