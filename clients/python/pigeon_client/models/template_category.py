from typing import Literal

TemplateCategory = Literal["AUTHENTICATION", "MARKETING", "UTILITY"]

TEMPLATE_CATEGORY_VALUES: set[TemplateCategory] = {
    "AUTHENTICATION",
    "MARKETING",
    "UTILITY",
}


def check_template_category(value: str) -> TemplateCategory:
    if value in TEMPLATE_CATEGORY_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TEMPLATE_CATEGORY_VALUES!r}")
