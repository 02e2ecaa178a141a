from typing import Literal

SendReactionType = Literal["reaction"]

SEND_REACTION_TYPE_VALUES: set[SendReactionType] = {
    "reaction",
}


def check_send_reaction_type(value: str) -> SendReactionType:
    if value in SEND_REACTION_TYPE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {SEND_REACTION_TYPE_VALUES!r}")
