from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.interactive_buttons_type import InteractiveButtonsType, check_interactive_buttons_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.buttons_action import ButtonsAction
    from ..models.document_header import DocumentHeader
    from ..models.image_header import ImageHeader
    from ..models.interactive_body import InteractiveBody
    from ..models.interactive_footer import InteractiveFooter
    from ..models.text_header import TextHeader
    from ..models.video_header import VideoHeader


T = TypeVar("T", bound="InteractiveButtons")


@_attrs_define
class InteractiveButtons:
    """
    Attributes:
        type_ (InteractiveButtonsType):
        body (InteractiveBody):
        action (ButtonsAction):
        header (DocumentHeader | ImageHeader | TextHeader | Unset | VideoHeader):
        footer (InteractiveFooter | Unset):
    """

    type_: InteractiveButtonsType
    body: InteractiveBody
    action: ButtonsAction
    header: DocumentHeader | ImageHeader | TextHeader | Unset | VideoHeader = UNSET
    footer: InteractiveFooter | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.image_header import ImageHeader  # noqa: PLC0415
        from ..models.text_header import TextHeader  # noqa: PLC0415
        from ..models.video_header import VideoHeader  # noqa: PLC0415

        type_: str = self.type_

        body = self.body.to_dict()

        action = self.action.to_dict()

        header: dict[str, Any] | Unset
        if isinstance(self.header, Unset):
            header = UNSET
        elif isinstance(self.header, TextHeader):
            header = self.header.to_dict()
        elif isinstance(self.header, ImageHeader):
            header = self.header.to_dict()
        elif isinstance(self.header, VideoHeader):
            header = self.header.to_dict()
        else:
            header = self.header.to_dict()

        footer: dict[str, Any] | Unset = UNSET
        if not isinstance(self.footer, Unset):
            footer = self.footer.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "type": type_,
                "body": body,
                "action": action,
            }
        )
        if header is not UNSET:
            field_dict["header"] = header
        if footer is not UNSET:
            field_dict["footer"] = footer

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.buttons_action import ButtonsAction  # noqa: PLC0415
        from ..models.document_header import DocumentHeader  # noqa: PLC0415
        from ..models.image_header import ImageHeader  # noqa: PLC0415
        from ..models.interactive_body import InteractiveBody  # noqa: PLC0415
        from ..models.interactive_footer import InteractiveFooter  # noqa: PLC0415
        from ..models.text_header import TextHeader  # noqa: PLC0415
        from ..models.video_header import VideoHeader  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_interactive_buttons_type(d.pop("type"))

        body = InteractiveBody.from_dict(d.pop("body"))

        action = ButtonsAction.from_dict(d.pop("action"))

        def _parse_header(data: object) -> DocumentHeader | ImageHeader | TextHeader | Unset | VideoHeader:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                header_type_0 = TextHeader.from_dict(data)

                return header_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                header_type_1 = ImageHeader.from_dict(data)

                return header_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                header_type_2 = VideoHeader.from_dict(data)

                return header_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            header_type_3 = DocumentHeader.from_dict(data)

            return header_type_3

        header = _parse_header(d.pop("header", UNSET))

        _footer = d.pop("footer", UNSET)
        footer: InteractiveFooter | Unset
        if isinstance(_footer, Unset):
            footer = UNSET
        else:
            footer = InteractiveFooter.from_dict(_footer)

        interactive_buttons = cls(
            type_=type_,
            body=body,
            action=action,
            header=header,
            footer=footer,
        )

        interactive_buttons.additional_properties = d
        return interactive_buttons

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
