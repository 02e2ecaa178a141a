"""What a request must be before it reaches WhatsApp: the checks every call of the sender
shares. A failed check is the call's INVALID_ARGUMENT."""

import re

# The id goes into the URL path, so only characters that cannot change the path's
# meaning (Meta's ids are digits; letters, "_" and "-" keep test ids readable).
_PHONE_NUMBER_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
# Visible ASCII only: a space, CR or LF would break or split the Authorization header.
_ACCESS_TOKEN = re.compile(r"[\x21-\x7e]{1,4096}")


class InvalidRequest(ValueError):
    """The request cannot be sent as it is; the message names the field."""


def check_account(phone_number_id: str, access_token: str, id_name: str = "phone_number_id") -> None:
    """A Graph object id (a phone number's, a WABA's: `id_name` says which) and a token."""
    if not _PHONE_NUMBER_ID.fullmatch(phone_number_id):
        raise InvalidRequest(f"{id_name} must be 1-64 letters, digits, '_' or '-'")
    if not _ACCESS_TOKEN.fullmatch(access_token):
        raise InvalidRequest("access_token must be non-empty visible ASCII")
