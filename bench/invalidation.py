"""Cross-replica cache invalidation latency: `python -m bench.invalidation`.

Two conversations replicas. Each trial: an API key is authenticated on replica B (so B
caches it), revoked by an UPDATE (the trigger NOTIFYs pigeon_cache), and replica B is
polled over gRPC every ~0.5 ms until it refuses the key. The time from the UPDATE's
commit to B's first refusal is the invalidation latency, polling granularity included.
Reported as p50/p90/p99/max over `--trials`, median across `--runs`.
"""

import argparse
import asyncio
import shlex
import sys
import time
from datetime import UTC, datetime
from typing import Any

import grpc
import orjson
import uvloop
from pigeon.conversations.v1 import conversations_pb2 as pb
from pigeon.conversations.v1 import conversations_pb2_grpc as pb_grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    LOG_DIR,
    RESULTS_DIR,
    distribution_ms,
    fresh_database,
    git_revision,
    machine,
    median_of,
)
from services.conversations.migrate import sqlalchemy_url
from tools.seed import create_account
from tools.stack import Stack


async def trial(engine: Any, stub: pb_grpc.ConversationsStub) -> float:
    account = await create_account(engine, "Invalidation", conversations=0)
    request = pb.AuthenticateApiKeyRequest(api_key=account.api_key)
    await stub.AuthenticateApiKey(request)
    async with engine.connect() as connection:
        await connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE account_id = :a"), {"a": account.account_id}
        )
    committed = time.perf_counter()  # autocommit: committed when execute returns
    while True:
        try:
            await stub.AuthenticateApiKey(request)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNAUTHENTICATED:
                return time.perf_counter() - committed
            raise
        await asyncio.sleep(0.0005)


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    url = await fresh_database("pigeon_bench_invalidation")
    engine = create_async_engine(sqlalchemy_url(url), isolation_level="AUTOCOMMIT")
    stack = Stack(
        database_url=url,
        log_dir=LOG_DIR / "invalidation",
        sim_env={"SIM_WEBHOOK_URL": ""},
        replicas={"conversations": 2},
    )
    await asyncio.to_thread(stack.start, [])
    runs = []
    try:
        other = stack.replicas_of("conversations")[1]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{other.port}") as channel:
            stub = pb_grpc.ConversationsStub(channel)
            for run in range(args.runs):
                latencies = [await trial(engine, stub) for _ in range(args.trials)]
                runs.append(distribution_ms(latencies))
                print(
                    f"run {run + 1}/{args.runs}: "
                    + ", ".join(f"{k} {v:.2f} ms" for k, v in runs[-1].items() if v)
                )
    finally:
        await asyncio.to_thread(stack.stop)
        await engine.dispose()
    median = {key: median_of(r[key] for r in runs) for key in ("p50", "p90", "p99", "max")}
    print("median of runs: " + ", ".join(f"{k} {v:.2f} ms" for k, v in median.items() if v is not None))
    print(f"target p99 < 50 ms: {'MET' if (median['p99'] or 1e9) < 50 else 'MISSED'}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"invalidation-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(
        orjson.dumps(
            {
                "benchmark": "invalidation",
                "command": " ".join(
                    shlex.quote(a) for a in ["python", "-m", "bench.invalidation", *sys.argv[1:]]
                ),
                "machine": machine(),
                "code": git_revision(),
                "median_ms": median,
                "runs": runs,
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    print(f"results written to {path}")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=200)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse_args())))
