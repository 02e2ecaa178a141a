"""Secrets kept in PostgreSQL (WhatsApp access tokens, app secrets, outbound webhooks' signing
secrets), encrypted with AES-256-GCM under keys from the environment.

A stored value is `pigeon-enc:<key id>:<base64url of nonce, ciphertext and tag>`. The column it
belongs to is the associated data: a value copied into another column does not decrypt.
`SECRETS_KEYS` is `kid1:<base64 key>,kid0:<base64 key>`: the first key encrypts, each of them
decrypts. To rotate, put a new key first, run `python -m services.conversations.reencrypt`, then
drop the old key. Without keys values are stored as given; a value without the prefix (a row
from before encryption) is read as it is until the command encrypts it.
"""

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "pigeon-enc:"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce, random for each value
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")

# What each encrypted value is bound to (the associated data). A rotated webhook secret moves to
# previous_secret as it is: both columns are one.
ACCESS_TOKEN = "accounts.access_token"
APP_SECRET = "accounts.app_secret"
ENDPOINT_SECRET = "webhook_endpoints.secret"


class SecretUnreadable(Exception):
    """A stored secret that the configured keys cannot decrypt (its key is not among them, or
    the value was altered)."""


@dataclass(frozen=True)
class SecretBox:
    """The keys, by id; `current` encrypts. No keys: values pass through as they are."""

    keys: Mapping[str, AESGCM] = field(default_factory=dict)
    current: str = ""

    @property
    def encrypts(self) -> bool:
        return bool(self.current)

    def encrypt(self, column: str, value: str) -> str:
        if not self.current:
            return value
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.keys[self.current].encrypt(nonce, value.encode(), column.encode())
        return f"{PREFIX}{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, column: str, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # from before encryption
        key_id, _, sealed = stored.removeprefix(PREFIX).partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise SecretUnreadable(f"{column} is encrypted with key {key_id!r}, which SECRETS_KEYS lacks")
        try:
            raw = base64.urlsafe_b64decode(sealed)
            return key.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnreadable(f"{column} does not decrypt with key {key_id!r} (altered?)") from None

    def is_current(self, stored: str) -> bool:
        """Stored as this box would store it now: under the current key (or in the clear, with
        no key configured)."""
        if not self.current:
            return not stored.startswith(PREFIX)
        return stored.startswith(f"{PREFIX}{self.current}:")


def parse_keys(raw: str) -> SecretBox:
    """`kid:base64key,...` (standard or URL-safe base64 of 32 bytes); the first encrypts."""
    keys: dict[str, AESGCM] = {}
    for item in (part.strip() for part in raw.split(",")):
        key_id, separator, encoded = item.partition(":")
        if not separator or not _KEY_ID.fullmatch(key_id):
            raise ValueError("must be a comma-separated list of kid:base64key (kid: letters, digits, _ . -)")
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} appears twice")
        try:
            key = base64.b64decode(encoded.replace("-", "+").replace("_", "/"), validate=True)
        except binascii.Error:
            raise ValueError(f"key {key_id!r} is not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"key {key_id!r} must be {KEY_BYTES} bytes (AES-256), not {len(key)}")
        keys[key_id] = AESGCM(key)
    return SecretBox(keys, next(iter(keys)))


def new_key() -> str:
    """A fresh key, as SECRETS_KEYS spells it."""
    return base64.b64encode(AESGCM.generate_key(bit_length=KEY_BYTES * 8)).decode()
