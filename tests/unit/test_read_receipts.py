"""Read receipts (services/conversations/use_cases/read_receipts.py): the conversation's last
inbound message is marked read on WhatsApp, and what WhatsApp answered is recorded."""

from uuid import UUID, uuid4

import pytest

from services.conversations.use_cases.directory import Directory
from services.conversations.use_cases.read_receipts import ReadReceipts
from services.gateway.errors import ApiError
from services.gateway.validation import parse_read
from services.shared.whatsapp_errors import Failure, FailureClass, FailureKind
from tests.unit.fakes import FakeDirectoryStore, new_account

REFUSED = Failure(FailureClass.PERMANENT, FailureKind.WHATSAPP_ERROR, "100", "Invalid parameter", 400)


class FakeReceiptStore:
    def __init__(self, last: str | None) -> None:
        self.last = last
        self.recorded: list[tuple[UUID, str, str | None, str | None]] = []

    async def last_inbound(self, account_id: UUID, conversation_id: UUID) -> str | None:
        return self.last

    async def record_read_receipt(
        self,
        account_id: UUID,
        conversation_id: UUID,
        message_id: str,
        error_code: str | None,
        error_message: str | None,
    ) -> None:
        self.recorded.append((conversation_id, message_id, error_code, error_message))


class FakeReceiptSender:
    def __init__(self, answer: Failure | None = None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, str, bool]] = []

    async def mark_read(
        self, phone_number_id: str, access_token: str, message_id: str, typing: bool
    ) -> Failure | None:
        self.asked.append((phone_number_id, access_token, message_id, typing))
        return self.answer


def receipts(
    last: str | None, answer: Failure | None = None
) -> tuple[ReadReceipts, FakeReceiptStore, FakeReceiptSender, UUID]:
    directory = FakeDirectoryStore()
    account = directory.add_account(new_account())
    store, sender = FakeReceiptStore(last), FakeReceiptSender(answer)
    return ReadReceipts(Directory(directory, 60), store, sender), store, sender, account.id


async def test_the_last_inbound_message_is_marked_read_with_typing() -> None:
    use, store, sender, account_id = receipts("wamid.last")
    conversation_id = uuid4()
    await use.send(account_id, conversation_id, typing=True)
    [(_, _, message_id, typing)] = sender.asked
    assert (message_id, typing) == ("wamid.last", True)
    assert store.recorded == [(conversation_id, "wamid.last", None, None)]


async def test_whatsapps_refusal_is_recorded() -> None:
    use, store, _, account_id = receipts("wamid.last", REFUSED)
    await use.send(account_id, uuid4(), typing=False)
    assert store.recorded[0][2:] == ("100", "Invalid parameter")


async def test_nothing_is_sent_where_the_customer_never_wrote() -> None:
    use, store, sender, account_id = receipts(None)
    await use.send(account_id, uuid4(), typing=True)
    assert sender.asked == [] and store.recorded == []


@pytest.mark.parametrize(
    ("body", "typing"), [(b"", False), (b"  ", False), (b"{}", False), (b'{"typing": true}', True)]
)
def test_the_read_body(body: bytes, typing: bool) -> None:
    assert parse_read(body) is typing


@pytest.mark.parametrize("body", [b'{"typing": "yes"}', b'{"typing": 1}', b"[true]", b"not json"])
def test_a_bad_read_body_is_400(body: bytes) -> None:
    with pytest.raises(ApiError) as raised:
        parse_read(body)
    assert raised.value.status == 400
