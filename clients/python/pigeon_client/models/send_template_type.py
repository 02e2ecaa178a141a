from typing import Literal

SendTemplateType = Literal["template"]

SEND_TEMPLATE_TYPE_VALUES: set[SendTemplateType] = {
    "template",
}


def check_send_template_type(value: str) -> SendTemplateType:
    if value in SEND_TEMPLATE_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_TEMPLATE_TYPE_VALUES!r}")
