from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_endpoint_disabled_reason_type_1 import (
    WebhookEndpointDisabledReasonType1,
    check_webhook_endpoint_disabled_reason_type_1,
)
from ..models.webhook_endpoint_disabled_reason_type_2_type_1 import (
    WebhookEndpointDisabledReasonType2Type1,
    check_webhook_endpoint_disabled_reason_type_2_type_1,
)
from ..models.webhook_endpoint_disabled_reason_type_3_type_1 import (
    WebhookEndpointDisabledReasonType3Type1,
    check_webhook_endpoint_disabled_reason_type_3_type_1,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookEndpoint")


@_attrs_define
class WebhookEndpoint:
    """A URL that gets the account's events: POSTed one at a time as `{"type", "timestamp", "data"}` (`data` as on GET
    /ws), signed the Standard Webhooks way (headers webhook-id, webhook-timestamp, webhook-signature).

        Attributes:
            id (UUID):
            url (str):
            events (list[str]):
            description (str):
            enabled (bool):
            disabled_reason (None | WebhookEndpointDisabledReasonType1 | WebhookEndpointDisabledReasonType2Type1 |
                WebhookEndpointDisabledReasonType3Type1): gone: the receiver answered 410; failing: every attempt failed for 3
                days
            last_event_id (int): Every event up to this id was delivered (or is not one the endpoint takes)
            failures (int): Failed attempts in a row
            failing_since (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
            next_attempt_at (datetime.datetime | None):  Example: 2026-11-25T14:03:07.012000Z.
            created_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
            updated_at (datetime.datetime):  Example: 2026-11-25T14:03:07.012000Z.
            secret (str | Unset): The signing secret (whsec_...): only in the answers of creation and rotation
    """

    id: UUID
    url: str
    events: list[str]
    description: str
    enabled: bool
    disabled_reason: (
        None
        | WebhookEndpointDisabledReasonType1
        | WebhookEndpointDisabledReasonType2Type1
        | WebhookEndpointDisabledReasonType3Type1
    )
    last_event_id: int
    failures: int
    failing_since: datetime.datetime | None
    next_attempt_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    secret: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        url = self.url

        events = self.events

        description = self.description

        enabled = self.enabled

        disabled_reason: None | str
        if isinstance(self.disabled_reason, str):
            disabled_reason = self.disabled_reason
        elif isinstance(self.disabled_reason, str):
            disabled_reason = self.disabled_reason
        elif isinstance(self.disabled_reason, str):
            disabled_reason = self.disabled_reason
        else:
            disabled_reason = self.disabled_reason

        last_event_id = self.last_event_id

        failures = self.failures

        failing_since: None | str
        if isinstance(self.failing_since, datetime.datetime):
            failing_since = self.failing_since.isoformat()
        else:
            failing_since = self.failing_since

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        secret = self.secret

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "url": url,
                "events": events,
                "description": description,
                "enabled": enabled,
                "disabled_reason": disabled_reason,
                "last_event_id": last_event_id,
                "failures": failures,
                "failing_since": failing_since,
                "next_attempt_at": next_attempt_at,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if secret is not UNSET:
            field_dict["secret"] = secret

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        url = d.pop("url")

        events = cast(list[str], d.pop("events"))

        description = d.pop("description")

        enabled = d.pop("enabled")

        def _parse_disabled_reason(
            data: object,
        ) -> (
            None
            | WebhookEndpointDisabledReasonType1
            | WebhookEndpointDisabledReasonType2Type1
            | WebhookEndpointDisabledReasonType3Type1
        ):
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                disabled_reason_type_1 = check_webhook_endpoint_disabled_reason_type_1(data)

                return disabled_reason_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                disabled_reason_type_2_type_1 = check_webhook_endpoint_disabled_reason_type_2_type_1(data)

                return disabled_reason_type_2_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, str):
                    raise TypeError()
                disabled_reason_type_3_type_1 = check_webhook_endpoint_disabled_reason_type_3_type_1(data)

                return disabled_reason_type_3_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(
                None
                | WebhookEndpointDisabledReasonType1
                | WebhookEndpointDisabledReasonType2Type1
                | WebhookEndpointDisabledReasonType3Type1,
                data,
            )

        disabled_reason = _parse_disabled_reason(d.pop("disabled_reason"))

        last_event_id = d.pop("last_event_id")

        failures = d.pop("failures")

        def _parse_failing_since(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                failing_since_type_0 = datetime.datetime.fromisoformat(data)

                return failing_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        failing_since = _parse_failing_since(d.pop("failing_since"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        secret = d.pop("secret", UNSET)

        webhook_endpoint = cls(
            id=id,
            url=url,
            events=events,
            description=description,
            enabled=enabled,
            disabled_reason=disabled_reason,
            last_event_id=last_event_id,
            failures=failures,
            failing_since=failing_since,
            next_attempt_at=next_attempt_at,
            created_at=created_at,
            updated_at=updated_at,
            secret=secret,
        )

        webhook_endpoint.additional_properties = d
        return webhook_endpoint

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
