from typing import Literal

ReceiveWhatsappNotificationResponse200Status = Literal["ignored", "received"]

RECEIVE_WHATSAPP_NOTIFICATION_RESPONSE_200_STATUS_VALUES: set[
    ReceiveWhatsappNotificationResponse200Status
] = {
    "ignored",
    "received",
}


def check_receive_whatsapp_notification_response_200_status(
    value: str,
) -> ReceiveWhatsappNotificationResponse200Status:
    if value in RECEIVE_WHATSAPP_NOTIFICATION_RESPONSE_200_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {RECEIVE_WHATSAPP_NOTIFICATION_RESPONSE_200_STATUS_VALUES!r}"
    )
