from typing import Literal

EventType = Literal[
    "conversation.updated",
    "media.failed",
    "media.stored",
    "message.delivered",
    "message.failed",
    "message.queued",
    "message.read",
    "message.received",
    "message.sent",
    "webhook_endpoint.disabled",
]

EVENT_TYPE_VALUES: set[EventType] = {
    "conversation.updated",
    "media.failed",
    "media.stored",
    "message.delivered",
    "message.failed",
    "message.queued",
    "message.read",
    "message.received",
    "message.sent",
    "webhook_endpoint.disabled",
}


def check_event_type(value: str) -> EventType:
    if value in EVENT_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {EVENT_TYPE_VALUES!r}")
