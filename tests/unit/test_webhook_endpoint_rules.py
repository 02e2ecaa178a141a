"""The rules of outbound webhooks (services/conversations/domain/webhook_endpoints.py): which
events an endpoint takes, which URLs and addresses it may have, signatures a stock Standard
Webhooks receiver verifies, what an answer means, when the next attempt is due, and how
deliveries run side by side and move the cursor."""

import base64
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from uuid import UUID, uuid4

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.conversations.domain.errors import InvalidArgument
from services.conversations.domain.webhook_endpoints import (
    MAX_EVENT_PATTERNS,
    MAX_RETRY_AFTER_SECONDS,
    MAX_URL_LENGTH,
    SECRET_BYTES,
    SECRET_PREFIX,
    AttemptResult,
    PendingEvent,
    Progress,
    RetrySchedule,
    Verdict,
    address_allowed,
    delivery_body,
    lanes,
    new_secret,
    parse_endpoint_url,
    parse_event_patterns,
    parse_retry_after,
    signed_headers,
    takes,
    webhook_id,
)
from services.shared.vocabulary import EVENT_TYPES, PING_EVENT_TYPE

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


# --- which events an endpoint takes ------------------------------------------------------


@pytest.mark.parametrize(
    "patterns",
    [["*"], ["message.*"], ["message.sent"], ["message.sent", "conversation.updated", "media.*"]],
)
def test_known_patterns_are_accepted_as_given(patterns: list[str]) -> None:
    assert parse_event_patterns(patterns) == tuple(patterns)


def test_every_event_type_and_family_is_a_pattern() -> None:
    families = sorted({event_type.split(".")[0] + ".*" for event_type in EVENT_TYPES})
    assert parse_event_patterns(list(EVENT_TYPES)) == EVENT_TYPES
    assert parse_event_patterns(families) == tuple(families)


def test_repeated_patterns_are_kept_once_in_their_order() -> None:
    assert parse_event_patterns(["message.sent", "*", "message.sent"]) == ("message.sent", "*")


@pytest.mark.parametrize(
    "pattern",
    [
        "message.bounced",
        "foo.*",
        "foo",
        "message",
        "message.",
        "*.sent",
        "*.*",
        "",
        "MESSAGE.SENT",
        " message.sent",
        PING_EVENT_TYPE,
    ],
)
def test_unknown_patterns_are_refused_not_ignored(pattern: str) -> None:
    with pytest.raises(InvalidArgument, match="events"):
        parse_event_patterns(["message.sent", pattern])


def test_no_patterns_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="at least one"):
        parse_event_patterns([])


def test_at_most_so_many_patterns() -> None:
    assert parse_event_patterns(["message.sent"] * MAX_EVENT_PATTERNS) == ("message.sent",)
    with pytest.raises(InvalidArgument, match=str(MAX_EVENT_PATTERNS)):
        parse_event_patterns(["message.sent"] * (MAX_EVENT_PATTERNS + 1))


@pytest.mark.parametrize(
    ("patterns", "event_type", "taken"),
    [
        (["*"], "message.sent", True),
        (["*"], "webhook_endpoint.disabled", True),
        (["message.*"], "message.read", True),
        (["message.*"], "media.stored", False),
        (["message.sent"], "message.sent", True),
        (["message.sent"], "message.delivered", False),
        (["media.*", "conversation.updated"], "conversation.updated", True),
        (["media.*", "conversation.updated"], "message.received", False),
        # A family is a whole first word, not a prefix of one.
        (["media.*"], "mediation.stored", False),
        ([], "message.sent", False),
    ],
)
def test_takes(patterns: list[str], event_type: str, taken: bool) -> None:
    assert takes(patterns, event_type) is taken


# --- which addresses a delivery may connect to --------------------------------------------

LOOPBACK = ["127.0.0.1", "127.255.0.9", "::1"]
PRIVATE = ["10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.1", "fc00::1", "fd12::1"]
# The cloud metadata address (and AWS's IPv6 one, in fc00::/7) among them.
LINK_LOCAL = ["169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", "fd00:ec2::254"]
SHARED = ["100.64.0.1", "100.127.255.254"]
MULTICAST = ["224.0.0.1", "239.255.255.250", "ff02::1", "ff0e::1"]
UNSPECIFIED = ["0.0.0.0", "::"]
WRAPPED = [
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    # 6to4 of 127.0.0.1 and of the metadata address.
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
]
PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2606:4700:4700::1111",
    "2a00:1450:4001:81c::200e",
    "::ffff:8.8.8.8",
    # Just outside the ranges above.
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "11.0.0.1",
    "192.169.0.1",
]


@pytest.mark.parametrize(
    "address", LOOPBACK + PRIVATE + LINK_LOCAL + SHARED + MULTICAST + UNSPECIFIED + WRAPPED
)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(address, allow_private=False)
    assert address_allowed(address, allow_private=True)


@pytest.mark.parametrize("address", LOOPBACK + PRIVATE + LINK_LOCAL + SHARED + WRAPPED)
def test_allowing_private_addresses_lets_loopback_and_private_ones_through(address: str) -> None:
    assert address_allowed(address, allow_private=True)


@pytest.mark.parametrize("address", [*MULTICAST, *UNSPECIFIED, "::ffff:0.0.0.0", "::ffff:224.0.0.1"])
def test_multicast_and_unspecified_addresses_are_refused_even_when_private_ones_are_allowed(
    address: str,
) -> None:
    assert not address_allowed(address, allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        # 127.0.0.1, 169.254.169.254 and 10.0.0.5 behind the NAT64 well-known prefix.
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::a00:5",
        # 10.0.0.5 behind the local-use NAT64 prefix (RFC 8215).
        "64:ff9b:1::a00:5",
    ],
)
def test_an_ipv4_address_behind_a_nat64_prefix_is_refused_as_that_address(address: str) -> None:
    assert not address_allowed(address, allow_private=False)


@pytest.mark.parametrize("address", ["", "example.com", "localhost", "127.1", "1.2.3.4.5", "::ffff::1"])
def test_what_is_not_an_address_is_refused(address: str) -> None:
    assert not address_allowed(address, allow_private=True)


# --- which URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/pigeon",
        "https://hooks.example.com:8443/pigeon?tenant=7#frag",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
        "HTTPS://hooks.example.com/",
    ],
)
def test_an_https_url_with_a_host_is_kept_as_given(url: str) -> None:
    assert parse_endpoint_url(url, allow_insecure=False) == url


def test_http_only_when_insecure_urls_are_allowed() -> None:
    with pytest.raises(InvalidArgument, match="https"):
        parse_endpoint_url("http://hooks.example.com/pigeon", allow_insecure=False)
    assert parse_endpoint_url("http://hooks.example.com/pigeon", allow_insecure=True) == (
        "http://hooks.example.com/pigeon"
    )


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/", "javascript:alert(1)", "hooks.example.com/pigeon", "//hooks.example.com/"],
)
def test_other_schemes_are_refused_even_when_insecure_urls_are_allowed(url: str) -> None:
    with pytest.raises(InvalidArgument, match="https"):
        parse_endpoint_url(url, allow_insecure=True)


@pytest.mark.parametrize("url", ["https:///pigeon", "https://", "https://:443/pigeon"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="no host"):
        parse_endpoint_url(url, allow_insecure=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@hooks.example.com/",
        "https://user@hooks.example.com/",
        "https://:pw@hooks.example.com/",
    ],
)
def test_a_url_with_credentials_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="credentials"):
        parse_endpoint_url(url, allow_insecure=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]:8443/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.5/hook",
        "https://100.64.0.1/hook",
        "https://[fe80::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
    ],
)
def test_an_address_deliveries_may_not_reach_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="address"):
        parse_endpoint_url(url, allow_insecure=False)
    # Allowed where private addresses are (make run, tests).
    assert parse_endpoint_url(url, allow_insecure=True) == url


@pytest.mark.parametrize("url", ["https://0.0.0.0/hook", "https://[::]/hook", "https://224.0.0.1/hook"])
def test_an_unspecified_or_multicast_address_is_refused_even_when_insecure_urls_are_allowed(url: str) -> None:
    with pytest.raises(InvalidArgument, match="address"):
        parse_endpoint_url(url, allow_insecure=True)


def test_a_url_of_at_most_the_longest_length_is_accepted() -> None:
    prefix = "https://hooks.example.com/"
    longest = prefix + "a" * (MAX_URL_LENGTH - len(prefix))
    assert parse_endpoint_url(longest, allow_insecure=False) == longest
    with pytest.raises(InvalidArgument, match="longer"):
        parse_endpoint_url(longest + "a", allow_insecure=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a\x00b",
        "https://hooks.example.com/a\nb",
        "https://hooks.exa\r\nmple.com/",
        "https://hooks.example.com/a\tb",
        "https://hooks.example.com/a\x1fb",
        "https://hooks.example.com/a b",
        "\thttps://hooks.example.com/",
        "https://hooks.example.com/ ",
    ],
)
def test_a_url_with_whitespace_or_control_characters_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="control characters"):
        parse_endpoint_url(url, allow_insecure=True)


@pytest.mark.parametrize("control", ["\x7f", "\x9b"])
def test_a_url_with_del_or_a_c1_control_character_is_refused(control: str) -> None:
    with pytest.raises(InvalidArgument, match="control characters"):
        parse_endpoint_url(f"https://hooks.example.com/a{control}b", allow_insecure=True)


@pytest.mark.parametrize("url", ["https://hooks.example.com:99999/", "https://[::1/hook"])
def test_a_malformed_url_is_refused(url: str) -> None:
    with pytest.raises(InvalidArgument, match="not a valid URL"):
        parse_endpoint_url(url, allow_insecure=True)


# --- signing ------------------------------------------------------------------------------


def test_a_new_secret_is_random_bytes_with_the_prefix() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith(SECRET_PREFIX)
    assert len(base64.b64decode(first.removeprefix(SECRET_PREFIX))) == SECRET_BYTES
    assert first != second


def signed(secrets: list[str], body: bytes, message_id: str = "msg_1") -> dict[str, str]:
    return signed_headers(secrets, message_id, int(time.time()), body)


def test_a_stock_receiver_verifies_a_delivery() -> None:
    secret = new_secret()
    body = delivery_body("message.sent", T0, b'{"id":"m1"}')
    headers = signed([secret], body)
    assert headers["webhook-id"] == "msg_1"
    assert Webhook(secret).verify(body, headers) == orjson.loads(body)


def test_a_receiver_with_another_secret_or_a_changed_body_does_not_verify() -> None:
    secret = new_secret()
    body = delivery_body("message.sent", T0, b'{"id":"m1"}')
    headers = signed([secret], body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"m1", b"m2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "msg_2"})


def test_during_a_rotation_a_receiver_holding_either_secret_verifies() -> None:
    new, old = new_secret(), new_secret()
    body = delivery_body("message.read", T0, b'{"id":"m1"}')
    headers = signed([new, old], body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers) == orjson.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_the_webhook_id_is_the_same_for_every_attempt_of_an_event_at_an_endpoint() -> None:
    endpoint, other = uuid4(), uuid4()
    assert webhook_id(endpoint, 42) == webhook_id(UUID(str(endpoint)), 42)
    assert webhook_id(endpoint, 42) != webhook_id(endpoint, 43)
    assert webhook_id(endpoint, 42) != webhook_id(other, 42)


def test_the_body_carries_the_type_the_time_in_utc_and_the_data_as_is() -> None:
    data = b'{"z":1,"a":{"b":[1,2]}}'
    created_at = datetime(2026, 12, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    body = delivery_body("message.delivered", created_at, data)
    assert orjson.loads(body) == {
        "type": "message.delivered",
        "timestamp": "2026-12-01T12:30:05.123456Z",
        "data": {"z": 1, "a": {"b": [1, 2]}},
    }
    # The data's bytes as the event log keeps them (key order too).
    assert data in body


# --- what an answer means -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (AttemptResult(200, 12.0), Verdict.DELIVERED),
        (AttemptResult(204, 12.0), Verdict.DELIVERED),
        (AttemptResult(299, 12.0), Verdict.DELIVERED),
        (AttemptResult(410, 12.0, "HTTP 410"), Verdict.GONE),
        (AttemptResult(429, 12.0, "HTTP 429", retry_after_seconds=30.0), Verdict.RETRY),
        (AttemptResult(500, 12.0, "HTTP 500"), Verdict.RETRY),
        (AttemptResult(503, 12.0, "HTTP 503"), Verdict.RETRY),
        (AttemptResult(404, 12.0, "HTTP 404"), Verdict.RETRY),
        (AttemptResult(400, 12.0, "HTTP 400"), Verdict.RETRY),
        (AttemptResult(301, 12.0, "redirect not followed (HTTP 301)"), Verdict.RETRY),
        (AttemptResult(302, 12.0), Verdict.RETRY),
        (AttemptResult(199, 12.0), Verdict.RETRY),
        (AttemptResult(300, 12.0), Verdict.RETRY),
        (AttemptResult(None, 10000.0, "timeout after 10 s"), Verdict.RETRY),
        (AttemptResult(None, 3.0, "connection failed: refused"), Verdict.RETRY),
        # An answer that came with an error is not a delivery.
        (AttemptResult(200, 12.0, "request failed: ValueError"), Verdict.RETRY),
    ],
)
def test_the_verdict_of_an_attempt(result: AttemptResult, verdict: Verdict) -> None:
    assert result.verdict == verdict


# --- when the next attempt is due ---------------------------------------------------------

SCHEDULE = RetrySchedule(base_seconds=5.0, max_seconds=3600.0, window_seconds=3 * 86400.0)


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(1, 5.0), (2, 10.0), (3, 20.0), (8, 640.0), (10, 2560.0), (11, 3600.0), (500, 3600.0)],
)
def test_the_delay_is_between_half_and_all_of_the_doubled_base_up_to_the_cap(
    failures: int, ceiling: float
) -> None:
    rng = random.Random(1234)
    delays = [SCHEDULE.delay(failures, None, rng) for _ in range(500)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    # Jittered across the whole span, not fixed.
    assert min(delays) < ceiling * 0.55
    assert max(delays) > ceiling * 0.95


def test_the_delay_is_drawn_from_the_random_given() -> None:
    assert SCHEDULE.delay(3, None, random.Random(7)) == SCHEDULE.delay(3, None, random.Random(7))
    assert SCHEDULE.delay(3, None, random.Random(7)) != SCHEDULE.delay(3, None, random.Random(8))


def test_a_longer_retry_after_raises_the_delay_even_beyond_the_cap() -> None:
    rng = random.Random(1)
    assert SCHEDULE.delay(1, 120.0, rng) == 120.0
    assert SCHEDULE.delay(20, 7200.0, rng) == 7200.0


def test_a_shorter_retry_after_leaves_the_backoff() -> None:
    rng = random.Random(1)
    for _ in range(100):
        assert 320.0 <= SCHEDULE.delay(8, 1.0, rng) <= 640.0


def test_retry_after_is_honoured_no_longer_than_its_cap() -> None:
    rng = random.Random(1)
    assert SCHEDULE.delay(1, 10 * MAX_RETRY_AFTER_SECONDS, rng) == MAX_RETRY_AFTER_SECONDS
    assert SCHEDULE.delay(1, float("inf"), rng) == MAX_RETRY_AFTER_SECONDS


def test_an_endpoint_failing_for_the_whole_window_is_given_up() -> None:
    assert not SCHEDULE.gives_up(0.0)
    assert not SCHEDULE.gives_up(SCHEDULE.window_seconds - 1)
    assert SCHEDULE.gives_up(SCHEDULE.window_seconds)
    assert SCHEDULE.gives_up(SCHEDULE.window_seconds + 1)


@pytest.mark.parametrize(("value", "seconds"), [("120", 120.0), (" 7 ", 7.0), ("0", 0.0)])
def test_retry_after_in_seconds(value: str, seconds: float) -> None:
    assert parse_retry_after(value, T0) == seconds


def test_retry_after_as_an_http_date() -> None:
    assert parse_retry_after(format_datetime(T0 + timedelta(seconds=90), usegmt=True), T0) == 90.0
    assert parse_retry_after("Tue, 01 Dec 2026 12:05:00 GMT", T0) == 300.0
    # A date already past: at once.
    assert parse_retry_after(format_datetime(T0 - timedelta(hours=1), usegmt=True), T0) == 0.0


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "soon",
        "-5",
        "1.5",
        "1e3",
        "120s",
        "Tue, 01 Dec 2026 12:05:00",
        "Tue, 99 Foo 2026",
        # Digits to str.isdigit() that are not ASCII ones (float() reads some, not others).
        "²",
        "①",
        "١٢",
    ],
)
def test_retry_after_that_is_absent_or_bad_is_none(value: str | None) -> None:
    assert parse_retry_after(value, T0) is None


# --- side by side, in order per conversation ----------------------------------------------

A, B = UUID(int=1), UUID(int=2)


def pending(event_id: int, conversation_id: UUID | None, event_type: str = "message.sent") -> PendingEvent:
    return PendingEvent(event_id, event_type, conversation_id, b"{}", T0)


def test_lanes_split_events_by_conversation_each_in_id_order() -> None:
    events = [pending(1, A), pending(2, B), pending(3, None), pending(4, A), pending(5, None), pending(6, B)]
    split = lanes(events)
    assert sorted([e.id for e in lane] for lane in split) == [[1, 4], [2, 6], [3, 5]]
    for lane in split:
        assert len({e.conversation_id for e in lane}) == 1


def test_lanes_of_no_events() -> None:
    assert lanes([]) == []


def test_events_of_no_conversation_share_one_lane() -> None:
    assert [[e.id for e in lane] for lane in lanes([pending(1, None), pending(2, None)])] == [[1, 2]]


def test_progress_moves_the_cursor_over_the_done_ids_up_to_the_first_not_done() -> None:
    progress = Progress(10)
    for event_id in (11, 12, 14, 15):
        progress.mark_done(event_id)
    progress.advance([11, 12, 13, 14, 15])
    assert progress.cursor == 12
    assert progress.done_ids() == [14, 15]
    assert progress.is_done(12) and not progress.is_done(13) and progress.is_done(14)

    progress.mark_done(13)
    progress.advance([13, 14, 15, 16])
    assert progress.cursor == 15
    assert progress.done_ids() == []
    assert not progress.is_done(16)


def test_progress_ignores_ids_at_or_before_the_cursor() -> None:
    progress = Progress(10, {12})
    assert progress.is_done(3) and progress.is_done(10)
    progress.mark_done(9)
    progress.mark_done(10)
    assert progress.done_ids() == [12]
    progress.advance([8, 9, 10, 12])
    # 11 was not read: the cursor moves over read ids only, in the order read.
    assert progress.cursor == 12


def test_progress_starts_from_done_ids_left_by_an_earlier_run() -> None:
    progress = Progress(0, {2, 3})
    assert [i for i in range(1, 6) if progress.is_done(i)] == [2, 3]
    progress.advance([1, 2, 3, 4])
    assert progress.cursor == 0
    progress.mark_done(1)
    progress.advance([1, 2, 3, 4])
    assert progress.cursor == 3
    assert progress.done_ids() == []
