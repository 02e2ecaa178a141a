"""API keys are kept and compared only as their SHA-256 (keys are 256-bit random secrets,
so a fast hash is enough); every service hashes them the same way, here. The gateway hashes
the key it is given and sends conversations the hash: no raw key crosses the network."""

import hashlib

API_KEY_HASH_BYTES = hashlib.sha256().digest_size


def hash_api_key(api_key: str) -> bytes:
    return hashlib.sha256(api_key.encode()).digest()
