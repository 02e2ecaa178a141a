from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="NewWebhookEndpoint")


@_attrs_define
class NewWebhookEndpoint:
    """
    Attributes:
        url (str): https; not an address that is loopback, private, link-local (cloud metadata) or reserved, in the URL
            or (checked at each connection) behind its name
        events (list[str]): Event types (message.queued, message.sent, message.failed, message.delivered, message.read,
            message.received, conversation.updated, media.stored, media.failed, webhook_endpoint.disabled), families
            (`message.*`) or `*`
        description (None | str | Unset): Text without the character U+0000
    """

    url: str
    events: list[str]
    description: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events = self.events

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
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

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        new_webhook_endpoint = cls(
            url=url,
            events=events,
            description=description,
        )

        return new_webhook_endpoint
