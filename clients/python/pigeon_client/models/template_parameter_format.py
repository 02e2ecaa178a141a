from typing import Literal

TemplateParameterFormat = Literal["NAMED", "POSITIONAL"]

TEMPLATE_PARAMETER_FORMAT_VALUES: set[TemplateParameterFormat] = {
    "NAMED",
    "POSITIONAL",
}


def check_template_parameter_format(value: str) -> TemplateParameterFormat:
    if value in TEMPLATE_PARAMETER_FORMAT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TEMPLATE_PARAMETER_FORMAT_VALUES!r}")
