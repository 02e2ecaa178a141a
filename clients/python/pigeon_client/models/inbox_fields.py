from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.inbox_fields_status import InboxFieldsStatus, check_inbox_fields_status
from ..types import UNSET, Unset

T = TypeVar("T", bound="InboxFields")


@_attrs_define
class InboxFields:
    """The inbox fields of a conversation that a PATCH changes; absent ones stay.

    Attributes:
        status (InboxFieldsStatus | Unset):
        snoozed_until (datetime.datetime | None | Unset): An RFC 3339 time with its offset; null: not snoozed
        assignee (None | str | Unset): null: unassigned
    """

    status: InboxFieldsStatus | Unset = UNSET
    snoozed_until: datetime.datetime | None | Unset = UNSET
    assignee: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status

        snoozed_until: None | str | Unset
        if isinstance(self.snoozed_until, Unset):
            snoozed_until = UNSET
        elif isinstance(self.snoozed_until, datetime.datetime):
            snoozed_until = self.snoozed_until.isoformat()
        else:
            snoozed_until = self.snoozed_until

        assignee: None | str | Unset
        if isinstance(self.assignee, Unset):
            assignee = UNSET
        else:
            assignee = self.assignee

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if status is not UNSET:
            field_dict["status"] = status
        if snoozed_until is not UNSET:
            field_dict["snoozed_until"] = snoozed_until
        if assignee is not UNSET:
            field_dict["assignee"] = assignee

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _status = d.pop("status", UNSET)
        status: InboxFieldsStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = check_inbox_fields_status(_status)

        def _parse_snoozed_until(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                snoozed_until_type_0 = datetime.datetime.fromisoformat(data)

                return snoozed_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        snoozed_until = _parse_snoozed_until(d.pop("snoozed_until", UNSET))

        def _parse_assignee(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        assignee = _parse_assignee(d.pop("assignee", UNSET))

        inbox_fields = cls(
            status=status,
            snoozed_until=snoozed_until,
            assignee=assignee,
        )

        return inbox_fields
