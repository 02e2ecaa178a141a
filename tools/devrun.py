"""`make run`: the whole system on one machine, on embedded defaults.

PostgreSQL (DATABASE_URL, or the embedded one under .pigeon/pg), migrations, two
demo accounts (kept across runs in .pigeon/demo.json), then the WhatsApp simulator,
sender, conversations and gateway as separate processes. Ctrl-C stops them all.
The accounts' and webhook endpoints' secrets are stored encrypted: with SECRETS_KEYS when
set, otherwise with a key made on the first run and kept in .pigeon/secrets_keys.
"""

import asyncio
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

import orjson
from sqlalchemy.ext.asyncio import create_async_engine

from services.conversations.migrate import sqlalchemy_url
from services.conversations.reencrypt import reencrypt_database
from services.shared.secrets_at_rest import SecretBox, new_key, parse_keys
from tools.seed import accounts_exist, create_account
from tools.stack import DATA_DIR, Stack, database_url, ensure_database, migrate, phone_numbers_in

DEMO_FILE = DATA_DIR / "demo.json"
KEYS_FILE = DATA_DIR / "secrets_keys"
PORTS = {
    "gateway": 8080,
    "simulator": 8090,
    "conversations": 50051,
    "sender": 50052,
    "conversations_metrics": 9101,
    "sender_metrics": 9102,
}


def secrets_keys() -> str:
    """SECRETS_KEYS, or the key of earlier runs (their rows are encrypted with it), or a new one."""
    if os.environ.get("SECRETS_KEYS"):
        return os.environ["SECRETS_KEYS"]
    if not KEYS_FILE.exists():
        DATA_DIR.mkdir(exist_ok=True)
        KEYS_FILE.touch(mode=0o600)
        KEYS_FILE.write_text(f"devrun1:{new_key()}\n")
    return KEYS_FILE.read_text().strip()


async def prepare(secrets_box: SecretBox) -> tuple[str, dict[str, object]]:
    server_url = database_url()
    url = (
        os.environ["DATABASE_URL"]
        if os.environ.get("DATABASE_URL")
        else await ensure_database(server_url, "pigeon", fresh=False)
    )
    await migrate(url)
    # Rows from runs before encryption (or under an older key first in SECRETS_KEYS).
    if (await reencrypt_database(url, secrets_box)).tell(secrets_box):
        raise SystemExit("make run: stored secrets could not all be encrypted (see above)")
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        demo = orjson.loads(DEMO_FILE.read_bytes()) if DEMO_FILE.exists() else None
        ids = [a["account_id"] for a in demo["accounts"]] if demo else []
        if demo is None or not await accounts_exist(engine, ids):
            accounts = [
                await create_account(engine, name, secrets_box=secrets_box)
                for name in ("Acme Support", "Globex Sales")
            ]
            demo = {
                "webhook_verify_token": secrets.token_urlsafe(16),
                "accounts": [a.public() for a in accounts],
            }
    finally:
        await engine.dispose()
    demo["gateway_url"] = f"http://127.0.0.1:{PORTS['gateway']}"
    demo["simulator_url"] = f"http://127.0.0.1:{PORTS['simulator']}"
    DATA_DIR.mkdir(exist_ok=True)
    DEMO_FILE.write_bytes(orjson.dumps(demo, option=orjson.OPT_INDENT_2))
    return url, demo


def print_welcome(demo: dict[str, object]) -> None:
    accounts = demo["accounts"]
    assert isinstance(accounts, list)
    first = accounts[0]
    print("\npigeon is running. Demo accounts (also in .pigeon/demo.json):")
    for account in accounts:
        print(f"  {account['name']}: API key {account['api_key']}")
        print(f"    conversations: {', '.join(account['conversation_ids'])}")
    print("\nSend a message:")
    print(
        f"  curl -s -X POST {demo['gateway_url']}/messages/send \\\n"
        f"    -H 'Authorization: Bearer {first['api_key']}' -H 'Content-Type: application/json' \\\n"
        f'    -d \'{{"conversation_id": "{first["conversation_ids"][0]}", '
        f'"type": "text", "text": {{"body": "Hello from pigeon"}}}}\''
    )
    print(f"\nLogs in {DATA_DIR / 'logs'}/. Ctrl-C stops everything.\n", flush=True)


def main() -> int:
    keys = secrets_keys()
    secrets_box = parse_keys(keys)
    url, demo = asyncio.run(prepare(secrets_box))
    phone_numbers = asyncio.run(phone_numbers_in(url, secrets_box))
    # Every process is on this host: gRPC between them goes over Unix sockets (a short
    # folder, as a socket's path is limited to 107 bytes).
    with tempfile.TemporaryDirectory(prefix="pigeon-") as sockets:
        return run_stack(url, demo, phone_numbers, Path(sockets), keys)


def run_stack(
    url: str, demo: dict[str, object], phone_numbers: list[dict[str, object]], sockets: Path, keys: str
) -> int:
    stack = Stack(
        database_url=url,
        sim_port=PORTS["simulator"],
        sender_port=PORTS["sender"],
        conversations_port=PORTS["conversations"],
        gateway_port=PORTS["gateway"],
        conversations_metrics_port=PORTS["conversations_metrics"],
        sender_metrics_port=PORTS["sender_metrics"],
        log_dir=DATA_DIR / "logs",
        webhook_verify_token=str(demo["webhook_verify_token"]),
        sim_env={"SIM_LATENCY": os.environ.get("SIM_LATENCY", "500-800")},
        # Outbound webhooks to a receiver on this machine (python -m tools.webhook_receiver).
        extra_env={"OUTBOUND_WEBHOOK_ALLOW_INSECURE_URLS": "true"},
        secrets_keys=keys,
        unix_socket_dir=sockets,
    )
    stack.start(phone_numbers)
    print_welcome(demo)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for service in stack.services:
                assert service.process is not None
                if service.process.poll() is not None:
                    print(
                        f"{service.name} exited with {service.process.returncode}; stopping", file=sys.stderr
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        print("stopping...", flush=True)
        codes = stack.stop()
        print("stopped: " + ", ".join(f"{name} ({code})" for name, code in codes.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
