from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="WebhookReplay")


@_attrs_define
class WebhookReplay:
    """
    Attributes:
        since_event_id (int):
    """

    since_event_id: int

    def to_dict(self) -> dict[str, Any]:
        since_event_id = self.since_event_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "since_event_id": since_event_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        since_event_id = d.pop("since_event_id")

        webhook_replay = cls(
            since_event_id=since_event_id,
        )

        return webhook_replay
