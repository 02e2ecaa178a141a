"""Runs last (by name): no log line of any service, in any stack the tests started,
holds an API key, an access token, an object store's secret or an outbound webhook's signing
secret (the seeds' shapes: pgn_<43 chars>, EAAG<64 chars>; the S3 tests': S3SECRET<32 chars>;
whsec_<base64>)."""

import re

from tools.stack import DATA_DIR

SECRET_SHAPES = re.compile(r"(?<![\w-])(pgn_[\w-]{40,}|EAAG[\w-]{60,}|S3SECRET\w{30,}|whsec_[\w+/=]{40,})")


def test_no_api_key_or_access_token_in_any_log() -> None:
    logs = sorted((DATA_DIR / "test-logs").rglob("*.log"))
    assert logs, "the end-to-end tests wrote no logs"
    leaks = [
        f"{path.relative_to(DATA_DIR)}: {match.group(1)[:8]}..."
        for path in logs
        for match in SECRET_SHAPES.finditer(path.read_text(errors="replace"))
    ]
    assert not leaks, leaks[:10]
