"""Who is who (services/conversations/use_cases/directory.py): API keys to accounts by their hash,
accounts and conversations, each cached until a `pigeon_cache` notification says it changed."""

from dataclasses import replace
from uuid import uuid4

import pytest

from services.conversations.domain.errors import InvalidArgument, NotFound, Unauthenticated
from services.conversations.use_cases.directory import Directory
from services.shared.api_keys import hash_api_key
from tests.unit.fakes import FakeDirectoryStore, new_account

KEY = "pk_live_0123456789abcdef"


@pytest.fixture
def store() -> FakeDirectoryStore:
    return FakeDirectoryStore()


@pytest.fixture
def directory(store: FakeDirectoryStore) -> Directory:
    return Directory(store, cache_ttl_seconds=60.0)


# --- API keys --------------------------------------------------------------------------


async def test_an_api_key_is_looked_up_by_its_hash(store: FakeDirectoryStore, directory: Directory) -> None:
    account = store.add_account(new_account(), api_key=KEY)
    assert (await directory.authenticate(hash_api_key(KEY))).account_id == account.id
    assert list(store.key_hashes) == [hash_api_key(KEY)]


async def test_an_unknown_key_is_unauthenticated(store: FakeDirectoryStore, directory: Directory) -> None:
    store.add_account(new_account(), api_key=KEY)
    with pytest.raises(Unauthenticated):
        await directory.authenticate(hash_api_key(KEY + "x"))


async def test_a_known_key_is_answered_from_the_cache(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    store.add_account(new_account(), api_key=KEY)
    await directory.authenticate(hash_api_key(KEY))
    await directory.authenticate(hash_api_key(KEY))
    assert store.calls["grant_for_key_hash"] == 1


async def test_an_unknown_key_is_not_cached_so_a_new_key_works_at_once(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    with pytest.raises(Unauthenticated):
        await directory.authenticate(hash_api_key(KEY))
    account = store.add_account(new_account(), api_key=KEY)
    assert (await directory.authenticate(hash_api_key(KEY))).account_id == account.id


async def test_a_revoked_key_is_refused_after_its_notification(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    store.add_account(new_account(), api_key=KEY)
    await directory.authenticate(hash_api_key(KEY))
    del store.key_hashes[hash_api_key(KEY)]
    directory.forget(f"api_key:{hash_api_key(KEY).hex()}")
    with pytest.raises(Unauthenticated):
        await directory.authenticate(hash_api_key(KEY))


# --- accounts --------------------------------------------------------------------------


async def test_an_unknown_account_is_not_found(directory: Directory) -> None:
    with pytest.raises(NotFound):
        await directory.account(uuid4())


async def test_an_account_is_cached_until_its_notification(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account(messages_per_second=80))
    assert (await directory.account(account.id)).messages_per_second == 80
    store.add_account(replace(account, messages_per_second=20))
    assert (await directory.account(account.id)).messages_per_second == 80
    directory.forget(f"account:{account.id}")
    assert (await directory.account(account.id)).messages_per_second == 20
    assert store.calls["load_account"] == 2


@pytest.mark.parametrize(
    "notification", ["account:", "account:not-a-uuid", "api_key:zz", "conversation:x", "something:else", ""]
)
async def test_a_malformed_notification_drops_nothing(
    store: FakeDirectoryStore, directory: Directory, notification: str
) -> None:
    account = store.add_account(new_account())
    await directory.account(account.id)
    directory.forget(notification)
    await directory.account(account.id)
    assert store.calls["load_account"] == 1


async def test_forgetting_everything_reloads_everything(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account(), api_key=KEY)
    conversation = store.add_conversation(account.id)
    await directory.authenticate(hash_api_key(KEY))
    await directory.account(account.id)
    await directory.conversation(account.id, conversation.id)
    directory.forget_everything()
    await directory.authenticate(hash_api_key(KEY))
    await directory.account(account.id)
    await directory.conversation(account.id, conversation.id)
    assert (
        store.calls["grant_for_key_hash"],
        store.calls["load_account"],
        store.calls["load_conversation_ref"],
    ) == (
        2,
        2,
        2,
    )


# --- conversations ---------------------------------------------------------------------


async def test_an_unknown_conversation_is_not_found(store: FakeDirectoryStore, directory: Directory) -> None:
    account = store.add_account(new_account())
    with pytest.raises(NotFound):
        await directory.conversation(account.id, uuid4())


async def test_another_accounts_conversation_is_not_found(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    mine, theirs = store.add_account(new_account()), store.add_account(new_account())
    conversation = store.add_conversation(theirs.id)
    with pytest.raises(NotFound):
        await directory.conversation(mine.id, conversation.id)


async def test_a_conversation_with_a_recipient_is_opened_once(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account())
    first = await directory.conversation_with(account.id, "+15550002222")
    again = await directory.conversation_with(account.id, "15550002222")
    assert first == again
    assert first.contact_wa_id == "15550002222"
    assert store.calls["open_conversation"] == 1


@pytest.mark.parametrize("to", ["1234", "1555000222233334", "+1 555 000", "abc12345", "++15550002222", ""])
async def test_a_recipient_that_is_not_a_whatsapp_number_is_invalid(
    store: FakeDirectoryStore, directory: Directory, to: str
) -> None:
    account = store.add_account(new_account())
    with pytest.raises(InvalidArgument):
        await directory.conversation_with(account.id, to)
    assert store.calls["open_conversation"] == 0


async def test_a_conversation_notification_drops_both_ways_to_it(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account())
    ref = await directory.conversation_with(account.id, "15550002222")
    await directory.conversation(account.id, ref.id)
    directory.forget(f"conversation:{account.id}:{ref.id}:15550002222")
    await directory.conversation_with(account.id, "15550002222")
    await directory.conversation(account.id, ref.id)
    assert (store.calls["open_conversation"], store.calls["load_conversation_ref"]) == (2, 2)


async def test_a_conversation_with_a_bsuid_is_opened_once_and_dropped_by_its_notification(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account())
    first = await directory.conversation_with(account.id, "US.13491208655302741918")
    again = await directory.conversation_with(account.id, "US.13491208655302741918")
    assert first == again
    assert (first.contact_wa_id, first.contact_user_id) == ("", "US.13491208655302741918")
    assert store.calls["open_conversation_with_user"] == 1
    directory.forget(f"conversation:{account.id}:{first.id}::US.13491208655302741918")
    await directory.conversation_with(account.id, "US.13491208655302741918")
    assert store.calls["open_conversation_with_user"] == 2
    assert store.calls["open_conversation"] == 0


async def test_forgetting_a_conversation_keeps_the_others(
    store: FakeDirectoryStore, directory: Directory
) -> None:
    account = store.add_account(new_account())
    kept, dropped = (
        store.add_conversation(account.id, "15550001111"),
        store.add_conversation(account.id, "15550002222"),
    )
    await directory.conversation(account.id, kept.id)
    await directory.conversation(account.id, dropped.id)
    directory.forget_conversation(dropped)
    await directory.conversation(account.id, kept.id)
    await directory.conversation(account.id, dropped.id)
    assert store.calls["load_conversation_ref"] == 3
