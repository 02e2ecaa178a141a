"""`pigeon-admin`: accounts and API keys from the command line, without SQL.

Runs administration's use case (the one behind the Admin gRPC service and the gateway's
/admin/ routes) on the database at DATABASE_URL, with SECRETS_KEYS as conversations has them:
tokens and secrets are stored encrypted. Answers are JSON on standard output; an error is a
line on standard error and exit status 1. A secret given as "-" is read from standard input
(one line each, in the order given; without echo at a terminal), out of the shell's history.
"""

import argparse
import asyncio
import getpass
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any
from uuid import UUID

import orjson

from services.conversations.adapters.database.admin import AdminStore
from services.conversations.adapters.database.errors import database_unavailable
from services.conversations.adapters.database.pool import StatementPool
from services.conversations.domain.admin import AccountChanges
from services.conversations.domain.errors import DomainError
from services.conversations.settings import database_dsn, secrets_from_env
from services.conversations.use_cases.admin import Administration
from services.shared.secrets_at_rest import SecretBox
from services.shared.settings import SettingsError, env
from services.shared.vocabulary import API_KEY_SCOPES


@asynccontextmanager
async def open_administration(database_url: str, secrets: SecretBox) -> AsyncIterator[Administration]:
    """Administration on a connection of its own, without the service running: for this
    command and the seeding tool (tools/seed.py), which so take the Admin service's path."""
    pool = StatementPool(database_dsn(database_url), 1, application_name="pigeon-admin")
    try:
        yield Administration(AdminStore(pool, secrets))
    finally:
        await pool.close()


def _secret(value: str | None, what: str) -> str | None:
    if value != "-":
        return value
    if sys.stdin.isatty():
        return getpass.getpass(f"{what}: ")
    return sys.stdin.readline().rstrip("\r\n")


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an id (a UUID)") from None


def _scopes(value: str) -> list[str]:
    scopes = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in API_KEY_SCOPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scope {unknown[0]!r}; known: {', '.join(API_KEY_SCOPES)}")
    return scopes


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="pigeon-admin",
        description="Accounts and API keys of pigeon (DATABASE_URL, SECRETS_KEYS from the environment).",
    )
    groups = top.add_subparsers(dest="group", required=True)

    accounts = groups.add_parser("accounts", help="WhatsApp business numbers pigeon sends from")
    account_commands = accounts.add_subparsers(dest="command", required=True)
    create = account_commands.add_parser("create", help="a new account")
    create.add_argument("--name", required=True)
    create.add_argument("--phone-number-id", required=True, help="Meta's Phone Number ID")
    create.add_argument("--waba-id", default="", help="the WhatsApp Business Account ID (templates)")
    create.add_argument("--display-phone-number", default="")
    create.add_argument("--access-token", required=True, help='the Cloud API token; "-": from stdin')
    create.add_argument("--app-secret", required=True, help='the Meta app\'s secret; "-": from stdin')
    create.add_argument("--messages-per-second", type=int, default=None)
    account_commands.add_parser("list", help="every account")
    show = account_commands.add_parser("show", help="one account")
    show.add_argument("account_id", type=_uuid)
    update = account_commands.add_parser(
        "update", help="change an account: a new access token, app secret, rate, WABA or name"
    )
    update.add_argument("account_id", type=_uuid)
    update.add_argument("--name")
    update.add_argument("--waba-id")
    update.add_argument("--display-phone-number")
    update.add_argument("--access-token", help='"-": from stdin')
    update.add_argument("--app-secret", help='"-": from stdin')
    update.add_argument("--messages-per-second", type=int)

    keys = groups.add_parser("keys", help="API keys")
    key_commands = keys.add_subparsers(dest="command", required=True)
    new_key = key_commands.add_parser("create", help="a new API key (shown once)")
    new_key.add_argument("account_id", type=_uuid)
    new_key.add_argument(
        "--scopes",
        type=_scopes,
        default=[],
        help=f"comma-separated, of {', '.join(API_KEY_SCOPES)} (default: all)",
    )
    listed = key_commands.add_parser("list", help="keys whose prefix starts so, newest first")
    listed.add_argument("--prefix", default="", help='the start of the key ("pgn_Ab12")')
    listed.add_argument("--account", type=_uuid, default=None, help="only this account's keys")
    revoke = key_commands.add_parser("revoke", help="revoke a key (by id)")
    revoke.add_argument("key_id", type=_uuid)
    return top


async def run(admin: Administration, args: argparse.Namespace) -> Any:
    """The command's answer, as JSON-ready data."""
    if args.group == "accounts":
        if args.command == "create":
            return await admin.create_account(
                args.name,
                args.phone_number_id,
                args.display_phone_number,
                args.waba_id,
                _secret(args.access_token, "access token") or "",
                _secret(args.app_secret, "app secret") or "",
                args.messages_per_second,
            )
        if args.command == "list":
            return await admin.accounts()
        if args.command == "show":
            return await admin.account(args.account_id)
        changes = AccountChanges(
            name=args.name,
            display_phone_number=args.display_phone_number,
            waba_id=args.waba_id,
            access_token=_secret(args.access_token, "access token"),
            app_secret=_secret(args.app_secret, "app secret"),
            messages_per_second=args.messages_per_second,
        )
        return await admin.update_account(args.account_id, changes)
    if args.command == "create":
        key, api_key = await admin.create_api_key(args.account_id, args.scopes)
        return {**asdict(key), "api_key": api_key}
    if args.command == "list":
        return await admin.api_keys(args.prefix, args.account)
    return await admin.revoke_api_key(args.key_id)


async def _main(args: argparse.Namespace) -> int:
    database_url = env("DATABASE_URL", "")
    if not database_url:
        raise SettingsError("DATABASE_URL is required: the PostgreSQL that conversations uses")
    async with open_administration(database_url, secrets_from_env()) as admin:
        answer = await run(admin, args)
    # asyncpg's UUIDs are not the standard library's: written as their text.
    sys.stdout.buffer.write(orjson.dumps(answer, default=str, option=orjson.OPT_INDENT_2) + b"\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except (DomainError, SettingsError) as exc:
        print(f"pigeon-admin: {exc}", file=sys.stderr)
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        print(f"pigeon-admin: the database is unavailable ({type(exc).__name__})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
