"""API keys are kept and compared only as their SHA-256 (keys are 256-bit random secrets,
so a fast hash is enough); every service hashes them the same way, here. The gateway hashes
the key it is given and sends conversations the hash: no raw key crosses the network."""

import hashlib
import secrets

API_KEY_HASH_BYTES = hashlib.sha256().digest_size
# Every key starts so: it tells a pigeon key apart from other secrets (say, in a secret scanner).
API_KEY_MARK = "pgn_"
# The characters of a key kept in the clear (api_keys.key_prefix), to tell keys apart: the mark
# and 8 of the key's 43 random characters, far too few to guess the rest from.
API_KEY_PREFIX_LENGTH = len(API_KEY_MARK) + 8


def new_api_key() -> str:
    """A new key: the mark, then 256 random bits (43 URL-safe characters)."""
    return API_KEY_MARK + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()


def api_key_prefix(api_key: str) -> str:
    return api_key[:API_KEY_PREFIX_LENGTH]
