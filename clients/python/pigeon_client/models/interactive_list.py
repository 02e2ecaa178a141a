from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.interactive_list_type import InteractiveListType, check_interactive_list_type
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.interactive_body import InteractiveBody
    from ..models.interactive_footer import InteractiveFooter
    from ..models.interactive_list_action_type_0 import InteractiveListActionType0
    from ..models.interactive_list_action_type_1 import InteractiveListActionType1
    from ..models.text_header import TextHeader


T = TypeVar("T", bound="InteractiveList")


@_attrs_define
class InteractiveList:
    """
    Attributes:
        type_ (InteractiveListType):
        body (InteractiveBody):
        action (InteractiveListActionType0 | InteractiveListActionType1):
        header (TextHeader | Unset):
        footer (InteractiveFooter | Unset):
    """

    type_: InteractiveListType
    body: InteractiveBody
    action: InteractiveListActionType0 | InteractiveListActionType1
    header: TextHeader | Unset = UNSET
    footer: InteractiveFooter | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.interactive_list_action_type_0 import InteractiveListActionType0  # noqa: PLC0415

        type_: str = self.type_

        body = self.body.to_dict()

        action: dict[str, Any]
        if isinstance(self.action, InteractiveListActionType0):
            action = self.action.to_dict()
        else:
            action = self.action.to_dict()

        header: dict[str, Any] | Unset = UNSET
        if not isinstance(self.header, Unset):
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
        from ..models.interactive_body import InteractiveBody  # noqa: PLC0415
        from ..models.interactive_footer import InteractiveFooter  # noqa: PLC0415
        from ..models.interactive_list_action_type_0 import InteractiveListActionType0  # noqa: PLC0415
        from ..models.interactive_list_action_type_1 import InteractiveListActionType1  # noqa: PLC0415
        from ..models.text_header import TextHeader  # noqa: PLC0415

        d = dict(src_dict)
        type_ = check_interactive_list_type(d.pop("type"))

        body = InteractiveBody.from_dict(d.pop("body"))

        def _parse_action(data: object) -> InteractiveListActionType0 | InteractiveListActionType1:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                action_type_0 = InteractiveListActionType0.from_dict(data)

                return action_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            action_type_1 = InteractiveListActionType1.from_dict(data)

            return action_type_1

        action = _parse_action(d.pop("action"))

        _header = d.pop("header", UNSET)
        header: TextHeader | Unset
        if isinstance(_header, Unset):
            header = UNSET
        else:
            header = TextHeader.from_dict(_header)

        _footer = d.pop("footer", UNSET)
        footer: InteractiveFooter | Unset
        if isinstance(_footer, Unset):
            footer = UNSET
        else:
            footer = InteractiveFooter.from_dict(_footer)

        interactive_list = cls(
            type_=type_,
            body=body,
            action=action,
            header=header,
            footer=footer,
        )

        interactive_list.additional_properties = d
        return interactive_list

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
