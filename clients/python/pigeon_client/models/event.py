from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.event_type import EventType, check_event_type

T = TypeVar("T", bound="Event")


@_attrs_define
class Event:
    """A WebSocket frame (GET /ws).

    Attributes:
        id (int): Increasing per account; resume with ?since=<id>
        type_ (EventType):
        data (Any): The Message (for media.*, the message whose file was stored or failed), for conversation.updated the
            Conversation, for webhook_endpoint.disabled the WebhookEndpoint. A conversation.updated whose inbox state
            changed (status, snoozed_until, assignee, labels: PATCH, labels, a snooze that ran out, an inbound message
            reopening it) also has `changes`: each changed field's {"from", "to"}, e.g. {"status": {"from": "open", "to":
            "resolved"}}.
    """

    id: int
    type_: EventType
    data: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        type_: str = self.type_

        data = self.data

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        type_ = check_event_type(d.pop("type"))

        data = d.pop("data")

        event = cls(
            id=id,
            type_=type_,
            data=data,
        )

        event.additional_properties = d
        return event

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
