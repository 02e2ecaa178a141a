"""Secrets encrypted at rest (services/shared/secrets_at_rest.py): AES-256-GCM under keys from
SECRETS_KEYS, the key id stored with each value, bound to its column."""

import base64

import pytest

from services.conversations.settings import secrets_from_env
from services.shared.secrets_at_rest import (
    ACCESS_TOKEN,
    APP_SECRET,
    PREFIX,
    SecretBox,
    SecretUnreadable,
    new_key,
    parse_keys,
)
from services.shared.settings import SettingsError

OLD, NEW = new_key(), new_key()
TOKEN = "EAAG-a-whatsapp-access-token"


def test_a_value_is_stored_encrypted_with_the_first_key_and_read_back() -> None:
    box = parse_keys(f"kid1:{NEW},kid0:{OLD}")
    stored = box.encrypt(ACCESS_TOKEN, TOKEN)
    assert stored.startswith(f"{PREFIX}kid1:") and TOKEN not in stored
    assert box.decrypt(ACCESS_TOKEN, stored) == TOKEN
    assert box.encrypt(ACCESS_TOKEN, TOKEN) != stored  # a fresh nonce each time


def test_a_value_under_an_older_key_is_still_read_until_that_key_is_dropped() -> None:
    stored = parse_keys(f"kid0:{OLD}").encrypt(ACCESS_TOKEN, TOKEN)
    rotated = parse_keys(f"kid1:{NEW},kid0:{OLD}")
    assert rotated.decrypt(ACCESS_TOKEN, stored) == TOKEN
    assert not rotated.is_current(stored)
    assert rotated.is_current(rotated.encrypt(ACCESS_TOKEN, TOKEN))
    with pytest.raises(SecretUnreadable, match="key 'kid0', which SECRETS_KEYS lacks"):
        parse_keys(f"kid1:{NEW}").decrypt(ACCESS_TOKEN, stored)


def test_a_value_moved_to_another_column_or_altered_does_not_decrypt() -> None:
    box = parse_keys(f"kid1:{NEW}")
    stored = box.encrypt(ACCESS_TOKEN, TOKEN)
    with pytest.raises(SecretUnreadable, match="altered"):
        box.decrypt(APP_SECRET, stored)
    sealed = bytearray(base64.urlsafe_b64decode(stored.rpartition(":")[2]))
    sealed[-1] ^= 1
    altered = f"{PREFIX}kid1:{base64.urlsafe_b64encode(bytes(sealed)).decode()}"
    with pytest.raises(SecretUnreadable, match="altered"):
        box.decrypt(ACCESS_TOKEN, altered)
    with pytest.raises(SecretUnreadable):
        box.decrypt(ACCESS_TOKEN, f"{PREFIX}kid1:not base64!")


def test_a_key_of_the_same_id_but_other_bytes_does_not_decrypt() -> None:
    stored = parse_keys(f"kid1:{NEW}").encrypt(ACCESS_TOKEN, TOKEN)
    with pytest.raises(SecretUnreadable, match="altered"):
        parse_keys(f"kid1:{OLD}").decrypt(ACCESS_TOKEN, stored)


def test_without_keys_values_pass_as_they_are_and_clear_values_are_read_with_keys() -> None:
    assert SecretBox().encrypt(ACCESS_TOKEN, TOKEN) == TOKEN
    assert SecretBox().is_current(TOKEN)
    box = parse_keys(f"kid1:{NEW}")
    assert box.decrypt(ACCESS_TOKEN, TOKEN) == TOKEN  # stored before encryption
    assert not box.is_current(TOKEN)


def test_url_safe_base64_keys_are_taken() -> None:
    raw = base64.b64decode(NEW)
    box = parse_keys(f"k:{base64.urlsafe_b64encode(raw).decode()}")
    assert parse_keys(f"k:{NEW}").decrypt(ACCESS_TOKEN, box.encrypt(ACCESS_TOKEN, TOKEN)) == TOKEN


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (NEW, "kid:base64key"),
        (f"kid 1:{NEW}", "kid:base64key"),
        (f"a:{NEW},a:{OLD}", "appears twice"),
        ("a:not*base64", "not base64"),
        (f"a:{base64.b64encode(b'x' * 16).decode()}", "32 bytes"),
        (f"a:{NEW},", "kid:base64key"),
    ],
)
def test_a_malformed_key_list_is_refused_without_repeating_it(
    monkeypatch: pytest.MonkeyPatch, raw: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        parse_keys(raw)
    monkeypatch.setenv("SECRETS_KEYS", raw)
    with pytest.raises(SettingsError, match="SECRETS_KEYS") as caught:
        secrets_from_env()
    assert NEW not in str(caught.value) and "not*base64" not in str(caught.value)


def test_no_keys_configured_means_no_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRETS_KEYS", raising=False)
    assert not secrets_from_env().encrypts
    monkeypatch.setenv("SECRETS_KEYS", f"kid1:{NEW},kid0:{OLD}")
    box = secrets_from_env()
    assert box.encrypts and box.current == "kid1" and sorted(box.keys) == ["kid0", "kid1"]
