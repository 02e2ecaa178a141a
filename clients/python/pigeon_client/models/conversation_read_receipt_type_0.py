from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.conversation_read_receipt_type_0_status import (
    ConversationReadReceiptType0Status,
    check_conversation_read_receipt_type_0_status,
)

if TYPE_CHECKING:
    from ..models.conversation_read_receipt_type_0_error_type_0 import ConversationReadReceiptType0ErrorType0


T = TypeVar("T", bound="ConversationReadReceiptType0")


@_attrs_define
class ConversationReadReceiptType0:
    """The last read receipt sent WhatsApp (POST /conversations/{id}/read)

    Attributes:
        message_id (str):
        status (ConversationReadReceiptType0Status):
        error (ConversationReadReceiptType0ErrorType0 | None):
        at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
    """

    message_id: str
    status: ConversationReadReceiptType0Status
    error: ConversationReadReceiptType0ErrorType0 | None
    at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.conversation_read_receipt_type_0_error_type_0 import (
            ConversationReadReceiptType0ErrorType0,  # noqa: PLC0415
        )

        message_id = self.message_id

        status: str = self.status

        error: dict[str, Any] | None
        if isinstance(self.error, ConversationReadReceiptType0ErrorType0):
            error = self.error.to_dict()
        else:
            error = self.error

        at = self.at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message_id": message_id,
                "status": status,
                "error": error,
                "at": at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.conversation_read_receipt_type_0_error_type_0 import (
            ConversationReadReceiptType0ErrorType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        message_id = d.pop("message_id")

        status = check_conversation_read_receipt_type_0_status(d.pop("status"))

        def _parse_error(data: object) -> ConversationReadReceiptType0ErrorType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = ConversationReadReceiptType0ErrorType0.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConversationReadReceiptType0ErrorType0 | None, data)

        error = _parse_error(d.pop("error"))

        at = datetime.datetime.fromisoformat(d.pop("at"))

        conversation_read_receipt_type_0 = cls(
            message_id=message_id,
            status=status,
            error=error,
            at=at,
        )

        conversation_read_receipt_type_0.additional_properties = d
        return conversation_read_receipt_type_0

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
