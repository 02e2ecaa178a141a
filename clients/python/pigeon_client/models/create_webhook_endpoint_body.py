from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CreateWebhookEndpointBody")


@_attrs_define
class CreateWebhookEndpointBody:
    """
    Attributes:
        url (str): https; not an address that is loopback, private, link-local (cloud metadata) or reserved, in the URL
            or (checked at each connection) behind its name
        events (list[str]): Event types (message.queued, message.sent, message.failed, message.delivered, message.read,
            message.received, conversation.updated, media.stored, media.failed, webhook_endpoint.disabled), families
            (`message.*`) or `*`
        description (str | Unset):
    """

    url: str
    events: list[str]
    description: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events = self.events

        description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "url": url,
                "events": events,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url")

        events = cast(list[str], d.pop("events"))

        description = d.pop("description", UNSET)

        create_webhook_endpoint_body = cls(
            url=url,
            events=events,
            description=description,
        )

        return create_webhook_endpoint_body
