"""The one table that says what a Graph API error code means for the caller: read by the
sender when WhatsApp answers, and by the gateway when it answers an idempotent replay of a
failed send from the code stored with the message. With it, the failure classes and kinds,
and the failure record itself. Their map to the sender's contract is `failure_proto.py`.
"""

import enum
from dataclasses import dataclass


class FailureClass(enum.Enum):
    """What the caller should do about a failure."""

    RETRYABLE = "retryable"
    PERMANENT = "permanent"
    REENGAGEMENT_REQUIRED = "reengagement_required"
    NEEDS_OPERATOR = "needs_operator"


class FailureKind(enum.Enum):
    """How the call failed."""

    WHATSAPP_ERROR = "whatsapp_error"
    TIMEOUT = "timeout"
    CONNECTION = "connection"  # no connection made: nothing was sent
    # The connection broke after the request was written: WhatsApp may have the message.
    UNKNOWN_OUTCOME = "unknown_outcome"
    BAD_RESPONSE = "bad_response"
    LATE = "late"  # not sent: too late for the caller's time limit


@dataclass(frozen=True, slots=True)
class Failure:
    """A send that WhatsApp refused or that never got its answer: a result, not an error."""

    failure_class: FailureClass
    kind: FailureKind | None  # None: not a call that failed (the request was refused before)
    # Graph error.code as text ("131026"), or one of pigeon's own (vocabulary.FailureCode).
    code: str
    message: str
    # 0 when there was no HTTP answer.
    http_status: int = 0
    subcode: int = 0
    details: str = ""
    fbtrace_id: str = ""
    retry_after_seconds: float = 0.0


# Graph API error codes by what the caller should do. Sources: the shared Cloud API digest
# (/work/shared/whatsapp-cloud-api.md) and Meta's "Error codes" page
# (developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes, as
# of September 2026); the quotes are Meta's "possible reasons and solutions". Codes not
# listed fall back on the HTTP status. docs/architecture.md has the table with the reasons.

# Trouble on Meta's side, or a limit that passes by itself: the same request may succeed later.
RETRYABLE_CODES = frozenset(
    {1, 2, 131000, 131016, 133004}  # unknown error, "temporarily unavailable": "try again"
    | {4, 80007, 130429, 131056}  # app, account, throughput and pair rate limits: "try again later"
    | {131057}  # account in maintenance mode, e.g. "undergoing a throughput upgrade"
)

# 131047: "more than 24 hours have passed since the recipient last replied": "send the
# recipient a template message instead".
REENGAGEMENT_CODES = frozenset({131047})

# The request is fine, but something only a person can mend on the business side stops
# every such send until then; a retry meanwhile fails the same way.
NEEDS_OPERATOR_CODES = frozenset(
    {190}  # the access token expired: "get a new access token"
    | {131037, 131045, 133010}  # the business number: no approved display name, not registered
    | {131048, 131064}  # the number's messaging is limited (spam, template misclassification)
    | {131049}  # Meta chose not to deliver: "wait at least 24 hours before resending"
    | {131053}  # media upload failed: the file must be fixed
    | {131063}  # marketing templates are disabled in the account's Cloud API settings
    | {134011}  # WhatsApp Payments terms of service not accepted yet
    # A paused template: "edit the template ... and try again once it is approved"; a blocked
    # or throttled Flow: "correct the Flow".
    | {132015, 132068, 132069}
)

# Of those, the ones that stop every send of the business number, whatever the message: the
# outbox holds the account's queued messages back (an account pause) rather than failing them
# one by one, until an operator changes the account or a probe after the pause goes through.
# 190: "get a new access
# token"; 131048: the spam rate limit, which the digest says to pause on; the number has no
# approved display name (131037) or is not registered (131045, 133010).
ACCOUNT_PAUSE_CODES = frozenset({190, 131048, 131037, 131045, 133010})
assert ACCOUNT_PAUSE_CODES <= NEEDS_OPERATOR_CODES

# No retry of this request can succeed: it must change, or this recipient cannot get it.
PERMANENT_CODES = frozenset(
    {100, 131008, 131009, 131051, 131055, 135000}  # the request is malformed or unsupported
    # Template problems: wrong parameter count or format, no such template or translation,
    # text too long, a policy violation, "permanently disabled" (132016: "create a new
    # template"); 132015, paused, needs an operator instead.
    | (set(range(132000, 132017)) - {132015})
    | {132018}
    | {131026}  # undeliverable: not a WhatsApp user, old app, terms not accepted
    | {131050}  # the user stopped marketing messages: "do not retry"
    | {130472}  # the user's number is held out by a Meta experiment
    | {130403}  # the business blocked this user: "do not retry"
    | {130497}  # the account may not message users in the recipient's country
    | {131021}  # the recipient is the sender
    | {131052}  # the media a user sent cannot be downloaded: "ask the user to send it another way"
    | {368, 131031, 131042}  # account restricted or locked for a policy, payment method
    | {10, 131005}
    | set(range(200, 300))  # permissions
)


def classify(code: int, http_status: int = 0) -> FailureClass:
    """The one classification table: a Graph API error code to what the caller should do.

    Known codes decide on their own (the digest says to treat the code as the truth).
    For an unknown code, a 5xx or 429 answer means trouble on Meta's side or too many
    calls, which may pass; anything else is assumed to be wrong with the request.
    """
    if code in RETRYABLE_CODES:
        return FailureClass.RETRYABLE
    if code in REENGAGEMENT_CODES:
        return FailureClass.REENGAGEMENT_REQUIRED
    if code in NEEDS_OPERATOR_CODES:
        return FailureClass.NEEDS_OPERATOR
    if code in PERMANENT_CODES:
        return FailureClass.PERMANENT
    if http_status >= 500 or http_status == 429:
        return FailureClass.RETRYABLE
    return FailureClass.PERMANENT


KNOWN_CODES = RETRYABLE_CODES | REENGAGEMENT_CODES | NEEDS_OPERATOR_CODES | PERMANENT_CODES
