from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="WebhookDelivery")


@_attrs_define
class WebhookDelivery:
    """One attempt at delivering an event (or a test ping) to an endpoint.

    Attributes:
        id (str):
        event_id (int | None): null for a test ping
        event_type (str):
        webhook_id (str): The same for every attempt of one event
        attempted_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
        http_status (int | None): null when no answer came
        latency_ms (float):
        error (None | str):
        succeeded (bool):
    """

    id: str
    event_id: int | None
    event_type: str
    webhook_id: str
    attempted_at: datetime.datetime
    http_status: int | None
    latency_ms: float
    error: None | str
    succeeded: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        event_id: int | None
        event_id = self.event_id

        event_type = self.event_type

        webhook_id = self.webhook_id

        attempted_at = self.attempted_at.isoformat()

        http_status: int | None
        http_status = self.http_status

        latency_ms = self.latency_ms

        error: None | str
        error = self.error

        succeeded = self.succeeded

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "event_id": event_id,
                "event_type": event_type,
                "webhook_id": webhook_id,
                "attempted_at": attempted_at,
                "http_status": http_status,
                "latency_ms": latency_ms,
                "error": error,
                "succeeded": succeeded,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        def _parse_event_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        event_id = _parse_event_id(d.pop("event_id"))

        event_type = d.pop("event_type")

        webhook_id = d.pop("webhook_id")

        attempted_at = datetime.datetime.fromisoformat(d.pop("attempted_at"))

        def _parse_http_status(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        http_status = _parse_http_status(d.pop("http_status"))

        latency_ms = d.pop("latency_ms")

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        succeeded = d.pop("succeeded")

        webhook_delivery = cls(
            id=id,
            event_id=event_id,
            event_type=event_type,
            webhook_id=webhook_id,
            attempted_at=attempted_at,
            http_status=http_status,
            latency_ms=latency_ms,
            error=error,
            succeeded=succeeded,
        )

        webhook_delivery.additional_properties = d
        return webhook_delivery

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
