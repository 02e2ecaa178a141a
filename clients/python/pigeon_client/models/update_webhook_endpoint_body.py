from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdateWebhookEndpointBody")


@_attrs_define
class UpdateWebhookEndpointBody:
    """
    Attributes:
        url (str | Unset): https; not an address that is loopback, private, link-local (cloud metadata) or reserved, in
            the URL or (checked at each connection) behind its name
        events (list[str] | Unset): Event types (message.queued, message.sent, message.failed, message.delivered,
            message.read, message.received, conversation.updated, media.stored, media.failed, webhook_endpoint.disabled),
            families (`message.*`) or `*`
        description (str | Unset):
        enabled (bool | Unset):
    """

    url: str | Unset = UNSET
    events: list[str] | Unset = UNSET
    description: str | Unset = UNSET
    enabled: bool | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events: list[str] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = self.events

        description = self.description

        enabled = self.enabled

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if url is not UNSET:
            field_dict["url"] = url
        if events is not UNSET:
            field_dict["events"] = events
        if description is not UNSET:
            field_dict["description"] = description
        if enabled is not UNSET:
            field_dict["enabled"] = enabled

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url", UNSET)

        events = cast(list[str], d.pop("events", UNSET))

        description = d.pop("description", UNSET)

        enabled = d.pop("enabled", UNSET)

        update_webhook_endpoint_body = cls(
            url=url,
            events=events,
            description=description,
            enabled=enabled,
        )

        return update_webhook_endpoint_body
