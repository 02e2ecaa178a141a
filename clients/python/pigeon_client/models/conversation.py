from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.conversation_status import ConversationStatus, check_conversation_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.conversation_contact import ConversationContact
    from ..models.conversation_read_receipt_type_0 import ConversationReadReceiptType0


T = TypeVar("T", bound="Conversation")


@_attrs_define
class Conversation:
    """
    Attributes:
        id (UUID):
        contact (ConversationContact):
        created_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
        last_message_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        last_inbound_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
        unread_count (int):
        window_expires_at (datetime.datetime | None): When the 24 h customer service window closes: last_inbound_at + 24
            h; null when the customer never wrote. After it WhatsApp takes only templates (131047). Example:
            2026-11-25T14:03:07.012000Z.
        can_send_free_form (bool): The window is open (window_expires_at is now or later): a message other than a
            template may be sent. As of the read; in a conversation.updated event, as of the event.
        status (ConversationStatus): Its place in the team inbox. A snooze whose time passed reads open; a message from
            the customer reopens a resolved or snoozed conversation.
        snoozed_until (datetime.datetime | None): When it opens again; null unless snoozed Example:
            2026-11-25T14:03:07.012000Z.
        assignee (None | str): The agent's or team's id, the customer's own (pigeon does not manage agents); null:
            unassigned
        labels (list[str]): Sorted
        version (int): Moves on with every change of the conversation; its ETag is "<version>", for If-Match
        read_receipt (ConversationReadReceiptType0 | None | Unset): The last read receipt sent WhatsApp (POST
            /conversations/{id}/read)
    """

    id: UUID
    contact: ConversationContact
    created_at: datetime.datetime
    last_message_at: datetime.datetime | None
    last_inbound_at: datetime.datetime | None
    unread_count: int
    window_expires_at: datetime.datetime | None
    can_send_free_form: bool
    status: ConversationStatus
    snoozed_until: datetime.datetime | None
    assignee: None | str
    labels: list[str]
    version: int
    read_receipt: ConversationReadReceiptType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.conversation_read_receipt_type_0 import ConversationReadReceiptType0  # noqa: PLC0415

        id = str(self.id)

        contact = self.contact.to_dict()

        created_at = self.created_at.isoformat()

        last_message_at: None | str
        if isinstance(self.last_message_at, datetime.datetime):
            last_message_at = self.last_message_at.isoformat()
        else:
            last_message_at = self.last_message_at

        last_inbound_at: None | str
        if isinstance(self.last_inbound_at, datetime.datetime):
            last_inbound_at = self.last_inbound_at.isoformat()
        else:
            last_inbound_at = self.last_inbound_at

        unread_count = self.unread_count

        window_expires_at: None | str
        if isinstance(self.window_expires_at, datetime.datetime):
            window_expires_at = self.window_expires_at.isoformat()
        else:
            window_expires_at = self.window_expires_at

        can_send_free_form = self.can_send_free_form

        status: str = self.status

        snoozed_until: None | str
        if isinstance(self.snoozed_until, datetime.datetime):
            snoozed_until = self.snoozed_until.isoformat()
        else:
            snoozed_until = self.snoozed_until

        assignee: None | str
        assignee = self.assignee

        labels = self.labels

        version = self.version

        read_receipt: dict[str, Any] | None | Unset
        if isinstance(self.read_receipt, Unset):
            read_receipt = UNSET
        elif isinstance(self.read_receipt, ConversationReadReceiptType0):
            read_receipt = self.read_receipt.to_dict()
        else:
            read_receipt = self.read_receipt

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "contact": contact,
                "created_at": created_at,
                "last_message_at": last_message_at,
                "last_inbound_at": last_inbound_at,
                "unread_count": unread_count,
                "window_expires_at": window_expires_at,
                "can_send_free_form": can_send_free_form,
                "status": status,
                "snoozed_until": snoozed_until,
                "assignee": assignee,
                "labels": labels,
                "version": version,
            }
        )
        if read_receipt is not UNSET:
            field_dict["read_receipt"] = read_receipt

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.conversation_contact import ConversationContact  # noqa: PLC0415
        from ..models.conversation_read_receipt_type_0 import ConversationReadReceiptType0  # noqa: PLC0415

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        contact = ConversationContact.from_dict(d.pop("contact"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_last_message_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_message_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_message_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_message_at = _parse_last_message_at(d.pop("last_message_at"))

        def _parse_last_inbound_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_inbound_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_inbound_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_inbound_at = _parse_last_inbound_at(d.pop("last_inbound_at"))

        unread_count = d.pop("unread_count")

        def _parse_window_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                window_expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return window_expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        window_expires_at = _parse_window_expires_at(d.pop("window_expires_at"))

        can_send_free_form = d.pop("can_send_free_form")

        status = check_conversation_status(d.pop("status"))

        def _parse_snoozed_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                snoozed_until_type_0 = datetime.datetime.fromisoformat(data)

                return snoozed_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        snoozed_until = _parse_snoozed_until(d.pop("snoozed_until"))

        def _parse_assignee(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        assignee = _parse_assignee(d.pop("assignee"))

        labels = cast(list[str], d.pop("labels"))

        version = d.pop("version")

        def _parse_read_receipt(data: object) -> ConversationReadReceiptType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                read_receipt_type_0 = ConversationReadReceiptType0.from_dict(data)

                return read_receipt_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ConversationReadReceiptType0 | None | Unset, data)

        read_receipt = _parse_read_receipt(d.pop("read_receipt", UNSET))

        conversation = cls(
            id=id,
            contact=contact,
            created_at=created_at,
            last_message_at=last_message_at,
            last_inbound_at=last_inbound_at,
            unread_count=unread_count,
            window_expires_at=window_expires_at,
            can_send_free_form=can_send_free_form,
            status=status,
            snoozed_until=snoozed_until,
            assignee=assignee,
            labels=labels,
            version=version,
            read_receipt=read_receipt,
        )

        conversation.additional_properties = d
        return conversation

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
