"""Benchmark of media (issue 18): `python -m bench.media`.

Three parts, each measured against a baseline in the same run on the same machine, in this order:

- `rss`: the peak RSS (`VmHWM`, reset through /proc/<pid>/clear_refs) of each process while 32
  uploads (`POST /media`, the body streamed from the client) run in parallel: a round of 1 MB,
  one of 15.9 MB (video/mp4's limit is 16,000,000 bytes) and one of 48 MB documents. Reports
  each peak and how much it grew from one round to the next, also over that round's bytes.
- `serve`: files uploaded with `POST /media` (20 of 100 KB, 20 of 5 MB), then 16 clients
  `GET /media/{id}` round robin for 10 s. Baseline: the same bytes from a tiny aiohttp static
  file server (`FileResponse`) in a process of its own, without sendfile (its bytes pass through
  Python, as the gateway's must: the fair one) and with it.
- `ingest`: 16 clients inject customers' media messages through the simulator's
  `/_sim/inbound` (it makes the bytes, keeps them, and POSTs the signed webhook to the
  gateway); pigeon's media worker then copies each file from the simulator through the sender
  into the object store (the filesystem store, under a temporary MEDIA_ROOT). For each
  MEDIA_CONCURRENCY (conversations is restarted with it), 100 KB images then 5 MB videos:
  end to end, timed from the first injection to the last `stored_at` in PostgreSQL; then the
  copy path alone: files injected with the media worker off and held back, then made due at
  once, timed from then to the last `stored_at`. Baseline, the last files at the same
  concurrency without pigeon: a plain client that retrieves each media id from the simulator,
  downloads the URL, hashes it and writes it to a temporary file (once without fsync, once
  with it, as pigeon's store does).

CPU per file or request of each process comes from /proc (bench/common.py's CpuMeter);
before each phase the benchmark waits (up to --quiet-wait) for the machine to be idle.
Results: tables on stdout, JSON in .pigeon/bench-results/media-<timestamp>.json; exits 1 if
any file failed, any answer was wrong or any copy was not done in time.
"""

import argparse
import asyncio
import hashlib
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import uvloop
from aiohttp.payload import AsyncIterablePayload
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import (
    LOG_DIR,
    CpuMeter,
    embedded_postmaster_pid,
    fresh_database,
    machine_busy_cores,
    results_document,
    write_results,
)
from services.conversations.migrate import sqlalchemy_url
from services.conversations.settings import database_dsn
from tools.seed import SeededAccount, create_account
from tools.stack import ROOT, Stack, free_port, wait_for_port

DATABASE = "pigeon_bench_media"
API_VERSION = "v21.0"
MB = 1_000_000  # Meta's and this report's megabyte
CHUNK = 256 * 1024
SERVICES = ("gateway", "conversations", "sender", "simulator")


@dataclass(frozen=True, slots=True)
class Account:
    phone_number_id: str
    access_token: str
    app_secret: str
    api_key: str

    @classmethod
    def of(cls, seeded: SeededAccount) -> "Account":
        return cls(seeded.phone_number_id, seeded.access_token, seeded.app_secret, seeded.api_key)


@dataclass(frozen=True, slots=True)
class Injected:
    """A file the simulator holds for a webhook, and what pigeon's copy must match."""

    account: Account
    wa_media_id: str
    size: int
    sha256: str


# --- small helpers -----------------------------------------------------------------------------


def cpu_ms_per_item(cores: dict[str, float], seconds: float, count: int) -> dict[str, float]:
    """CPU milliseconds each process spent per item, from CpuMeter's cores over `seconds`."""
    if count == 0:
        return {}
    return {
        name: round(value * seconds * 1000.0 / count, 2)
        for name, value in cores.items()
        if not name.endswith("_sys") and name not in ("machine",)
    }


def proc_status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Sets VmHWM back to the current RSS (Linux >= 4.0: "5" > /proc/<pid>/clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def busy_cores(seconds: float = 1.0) -> float:
    return round(await asyncio.to_thread(machine_busy_cores, seconds), 2)


# Busier than this (cores, whole machine) with the stack idle: something else is running.
NOISE_CORES = 0.3


async def quiet_machine(limit_seconds: float) -> float:
    """Waits (up to limit_seconds) until the machine is nearly idle; answers its busy cores then,
    a second's worth (the stack is idle between phases, so what is left is other programs or
    the kernel still writing the previous phase's files back)."""
    deadline = time.monotonic() + limit_seconds
    while True:
        busy = await busy_cores()
        if busy < NOISE_CORES or time.monotonic() >= deadline:
            return busy


def load_average() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


class SizedStream(AsyncIterablePayload):
    """A streamed payload of known size: the upload goes with a Content-Length."""

    def __init__(self, value: AsyncIterator[bytes], size: int, *, content_type: str) -> None:
        super().__init__(value, content_type=content_type)
        self._size = size


_BLOCK = random.randbytes(4 * CHUNK)


async def generated_bytes(size: int) -> AsyncIterator[bytes]:
    """`size` bytes in CHUNK pieces, made as they are sent: the client holds no whole file."""
    sent = 0
    offset = random.randrange(len(_BLOCK) - CHUNK)
    while sent < size:
        piece = min(CHUNK, size - sent)
        yield _BLOCK[offset : offset + piece]
        sent += piece
        offset = (offset + 4099) % (len(_BLOCK) - CHUNK)


async def upload(
    http: aiohttp.ClientSession,
    gateway: str,
    account: Account,
    mime_type: str,
    size: int,
    data: bytes | None = None,
) -> dict[str, Any]:
    """POST /media with the file streamed (or `data` when given); the 201's body."""
    form = aiohttp.MultipartWriter("form-data")
    if data is None:
        payload: aiohttp.payload.Payload = SizedStream(generated_bytes(size), size, content_type=mime_type)
    else:
        payload = aiohttp.payload.BytesPayload(data, content_type=mime_type)
    part = form.append_payload(payload)
    part.set_content_disposition("form-data", name="file", filename="bench.bin")
    headers = {"Authorization": f"Bearer {account.api_key}"}
    async with http.post(f"{gateway}/media", data=form, headers=headers) as response:
        body = await response.read()
        if response.status != 201:
            raise RuntimeError(f"upload of {size} bytes answered {response.status}: {body[:300]!r}")
        answer: dict[str, Any] = orjson.loads(body)
        return answer


async def run_clients(clients: int, count: int, one: Callable[[int], Awaitable[None]]) -> None:
    """`count` calls of `one(index)`, `clients` at a time (closed loop)."""
    indexes = iter(range(count))

    async def client() -> None:
        for index in indexes:
            await one(index)

    await asyncio.gather(*(client() for _ in range(clients)))


# --- part 1: inbound media ingest --------------------------------------------------------------


_PHASE_STATE = """
SELECT count(*) FILTER (WHERE status = 'stored') AS stored,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       max(stored_at) AS last_stored,
       sum(attempts) AS attempts,
       array_agg(DISTINCT failure_reason) FILTER (WHERE failure_reason IS NOT NULL) AS reasons
FROM media WHERE origin = 'inbound' AND wa_media_id = ANY($1::text[])
"""


async def ingest_phase(
    args: argparse.Namespace,
    stack: Stack,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
    accounts: list[Account],
    cpu: CpuMeter,
    kind: str,
    mime_type: str,
    size: int,
    count: int,
    measured: bool = True,
) -> tuple[dict[str, Any], list[Injected]]:
    injected: list[Injected] = []
    errors: Counter[str] = Counter()
    customers = [f"1555{random.randrange(10**7):07d}" for _ in range(args.clients)]
    busy_before = await quiet_machine(args.quiet_wait) if measured else None

    async def inject(index: int) -> None:
        account = accounts[index % len(accounts)]
        body = {
            "phone_number_id": account.phone_number_id,
            "from": customers[index % len(customers)],
            "message": {"type": kind, "media": {"mime_type": mime_type, "size": size}},
        }
        async with http.post(f"{stack.simulator_url}/_sim/inbound", json=body) as response:
            answer = orjson.loads(await response.read())
        if response.status != 200 or answer.get("webhook_status") != 200:
            errors[f"inject {response.status}, webhook {answer.get('webhook_status')}"] += 1
            return
        media = answer["media"]
        injected.append(Injected(account, media["id"], media["file_size"], media["sha256"]))

    cpu.start()
    cpu_t0 = time.perf_counter()
    t0 = time.time()
    await run_clients(args.clients, count, inject)
    injected_at = time.time()
    ids = [f.wa_media_id for f in injected]
    state = await copies_settled(db, ids, args.ingest_timeout)
    cores = cpu.stop()
    cpu_seconds = time.perf_counter() - cpu_t0
    stored, failed = int(state["stored"]), int(state["failed"])
    last = state["last_stored"].timestamp() if state["last_stored"] is not None else time.time()
    window = last - t0
    result = {
        "kind": kind,
        "mime_type": mime_type,
        "size": size,
        "count": count,
        "clients": args.clients,
        "injected": len(injected),
        "stored": stored,
        "failed": failed,
        "not_done_in_time": len(ids) - stored - failed,
        "failure_reasons": list(state["reasons"] or []),
        "extra_attempts": int(state["attempts"] or 0) - len(ids),
        "errors": dict(errors),
        "inject_seconds": round(injected_at - t0, 3),
        "window_seconds": round(window, 3),
        "per_second": round(stored / window, 1),
        "mb_per_second": round(stored * size / MB / window, 1),
        "cpu_cores": cores,
        "cpu_ms_per_attachment": cpu_ms_per_item(cores, cpu_seconds, stored),
        "machine_busy_cores_before": busy_before,
    }
    return result, injected


async def bare_download(
    args: argparse.Namespace,
    stack: Stack,
    files: list[Injected],
    cpu: CpuMeter,
    fsync: bool,
) -> dict[str, Any]:
    """The same files, straight from the simulator: retrieve, download, hash, write (and fsync)."""
    folder = Path(tempfile.mkdtemp(prefix="pigeon-bench-bare-"))
    errors: Counter[str] = Counter()
    busy_before = await quiet_machine(args.quiet_wait)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def download(index: int) -> None:
            file = files[index]
            headers = {"Authorization": f"Bearer {file.account.access_token}"}
            url = f"{stack.simulator_url}/{API_VERSION}/{file.wa_media_id}"
            params = {"phone_number_id": file.account.phone_number_id}
            async with http.get(url, params=params, headers=headers) as response:
                info = orjson.loads(await response.read())
            digest = hashlib.sha256()
            size = 0
            path = folder / file.wa_media_id
            with path.open("wb") as out:
                async with http.get(info["url"], headers=headers) as response:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                if fsync:
                    out.flush()
                    await asyncio.to_thread(os.fsync, out.fileno())
            if size != file.size or digest.hexdigest() != file.sha256:
                errors["size or sha256 mismatch"] += 1
            path.unlink()

        cpu.start()
        cpu_t0 = time.perf_counter()
        await run_clients(args.clients, len(files), download)
        window = time.perf_counter() - cpu_t0
        cores = cpu.stop()
    shutil.rmtree(folder, ignore_errors=True)
    total = sum(f.size for f in files)
    return {
        "fsync": fsync,
        "count": len(files),
        "clients": args.clients,
        "errors": dict(errors),
        "window_seconds": round(window, 3),
        "per_second": round(len(files) / window, 1),
        "mb_per_second": round(total / MB / window, 1),
        "cpu_cores": cores,
        "cpu_ms_per_attachment": cpu_ms_per_item(cores, window, len(files)),
        "machine_busy_cores_before": busy_before,
    }


async def restart_conversations(
    stack: Stack, http: aiohttp.ClientSession, accounts: list[Account], concurrency: int, worker: bool
) -> None:
    """conversations again with this MEDIA_CONCURRENCY, its media worker on or off; answers
    once a webhook goes through (the gateway's channel to it may be backing off)."""
    service = stack.service("conversations")
    await asyncio.to_thread(service.stop)
    service.env["MEDIA_CONCURRENCY"] = str(concurrency)
    service.env["MEDIA_WORKER_ENABLED"] = "true" if worker else "false"
    await asyncio.to_thread(service.start)
    deadline = time.monotonic() + 30.0
    body = {
        "phone_number_id": accounts[0].phone_number_id,
        "from": "15550000001",
        "message": {"type": "text", "text": {"body": "ready?"}},
    }
    while True:
        async with http.post(f"{stack.simulator_url}/_sim/inbound", json=body) as response:
            answer = orjson.loads(await response.read())
        if response.status == 200 and answer.get("webhook_status") == 200:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"conversations not ready after a restart: {answer}")
        await asyncio.sleep(0.2)


async def inject_only(
    args: argparse.Namespace,
    http: aiohttp.ClientSession,
    stack: Stack,
    accounts: list[Account],
    kind: str,
    mime_type: str,
    size: int,
    count: int,
) -> list[Injected]:
    injected: list[Injected] = []
    customers = [f"1555{random.randrange(10**7):07d}" for _ in range(args.clients)]

    async def inject(index: int) -> None:
        account = accounts[index % len(accounts)]
        body = {
            "phone_number_id": account.phone_number_id,
            "from": customers[index % len(customers)],
            "message": {"type": kind, "media": {"mime_type": mime_type, "size": size}},
        }
        async with http.post(f"{stack.simulator_url}/_sim/inbound", json=body) as response:
            answer = orjson.loads(await response.read())
        if response.status != 200 or answer.get("webhook_status") != 200:
            raise RuntimeError(f"injection failed: {response.status} {answer}")
        media = answer["media"]
        injected.append(Injected(account, media["id"], media["file_size"], media["sha256"]))

    await run_clients(args.clients, count, inject)
    return injected


async def drain_phase(
    args: argparse.Namespace,
    db: asyncpg.Connection,
    cpu: CpuMeter,
    files: list[Injected],
    kind: str,
    size: int,
) -> dict[str, Any]:
    """Copies already waiting (held back by a far due time) made due at once, and woken: the
    copy path alone, without the webhooks that bring the files."""
    ids = [f.wa_media_id for f in files]
    busy_before = await quiet_machine(args.quiet_wait)
    cpu.start()
    cpu_t0 = time.perf_counter()
    t0 = time.time()
    await db.execute("UPDATE media SET next_attempt_at = now() WHERE wa_media_id = ANY($1::text[])", ids)
    await db.execute("SELECT pg_notify('pigeon_media', '')")
    state = await copies_settled(db, ids, args.ingest_timeout)
    cores = cpu.stop()
    cpu_seconds = time.perf_counter() - cpu_t0
    stored, failed = int(state["stored"]), int(state["failed"])
    last = state["last_stored"].timestamp() if state["last_stored"] is not None else time.time()
    window = last - t0
    return {
        "kind": kind,
        "size": size,
        "count": len(ids),
        "stored": stored,
        "failed": failed,
        "not_done_in_time": len(ids) - stored - failed,
        "failure_reasons": list(state["reasons"] or []),
        "extra_attempts": int(state["attempts"] or 0) - len(ids),
        "errors": {},
        "window_seconds": round(window, 3),
        "per_second": round(stored / window, 1),
        "mb_per_second": round(stored * size / MB / window, 1),
        "cpu_cores": cores,
        "cpu_ms_per_attachment": cpu_ms_per_item(cores, cpu_seconds, stored),
        "machine_busy_cores_before": busy_before,
    }


async def ingest(
    args: argparse.Namespace,
    stack: Stack,
    db: asyncpg.Connection,
    http: aiohttp.ClientSession,
    accounts: list[Account],
    cpu: Callable[[], CpuMeter],
) -> dict[str, Any]:
    phases = [
        ("image", "image/jpeg", args.image_bytes, args.images),
        ("video", "video/mp4", args.video_bytes, args.videos),
    ]
    result: dict[str, Any] = {"levels": [], "baseline": []}
    drained: dict[str, list[Injected]] = {}
    for number, concurrency in enumerate(args.media_concurrency):
        if number > 0:
            await restart_conversations(stack, http, accounts, concurrency, worker=True)
        # Warm-up: the first copies open connections and threads.
        await ingest_phase(args, stack, db, http, accounts, cpu(), "image", "image/jpeg", 100_000, 32, False)
        level: dict[str, Any] = {"media_concurrency": concurrency, "phases": [], "drain": []}
        for kind, mime_type, size, count in phases:
            phase, _ = await ingest_phase(
                args, stack, db, http, accounts, cpu(), kind, mime_type, size, count
            )
            level["phases"].append(phase)
            print(
                f"  end to end, MEDIA_CONCURRENCY={concurrency}, {count} x {size / MB:g} MB {kind}: "
                f"{phase['per_second']}/s, {phase['mb_per_second']} MB/s in {phase['window_seconds']} s "
                f"(injected in {phase['inject_seconds']} s); stored {phase['stored']}, failed "
                f"{phase['failed']} {phase['failure_reasons']}, errors {phase['errors']}",
                flush=True,
            )
        # The copy path alone: the files brought in with the worker off, held back, then let go.
        await restart_conversations(stack, http, accounts, concurrency, worker=False)
        waiting = {
            kind: await inject_only(args, http, stack, accounts, kind, mime_type, size, count)
            for kind, mime_type, size, count in phases
        }
        every = [f.wa_media_id for files in waiting.values() for f in files]
        await db.execute(
            "UPDATE media SET next_attempt_at = now() + interval '1 day' WHERE wa_media_id = ANY($1::text[])",
            every,
        )
        await restart_conversations(stack, http, accounts, concurrency, worker=True)
        await ingest_phase(args, stack, db, http, accounts, cpu(), "image", "image/jpeg", 100_000, 32, False)
        for kind, _, size, _ in phases:
            drain = await drain_phase(args, db, cpu(), waiting[kind], kind, size)
            level["drain"].append(drain)
            print(
                f"  copy path alone, MEDIA_CONCURRENCY={concurrency}, {drain['count']} x {size / MB:g} MB "
                f"{kind}: {drain['per_second']}/s, {drain['mb_per_second']} MB/s in "
                f"{drain['window_seconds']} s; stored {drain['stored']}, "
                f"failed {drain['failed']} {drain['failure_reasons']}",
                flush=True,
            )
        drained = waiting
        result["levels"].append(level)
    # A bare download of these files takes under a second: the median of a few, alternated.
    for kind, _, size, _ in phases:
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(args.baseline_runs):
            for fsync in (False, True):
                run = await bare_download(args, stack, drained[kind], cpu(), fsync)
                run["kind"], run["size"] = kind, size
                runs[fsync].append(run)
        for fsync, done in runs.items():
            baseline = dict(sorted(done, key=lambda r: r["mb_per_second"])[len(done) // 2])
            baseline["runs_mb_per_second"] = [r["mb_per_second"] for r in done]
            baseline["errors"] = dict(sum((Counter(r["errors"]) for r in done), Counter()))
            result["baseline"].append(baseline)
            print(
                f"  bare download{' + fsync' if fsync else ''} {kind}, median of {len(done)}: "
                f"{baseline['per_second']}/s, {baseline['mb_per_second']} MB/s "
                f"(runs {baseline['runs_mb_per_second']} MB/s), errors {baseline['errors']}",
                flush=True,
            )
    return result


# --- part 2: GET /media/{id} -------------------------------------------------------------------


async def get_load(
    urls: list[tuple[str, dict[str, str]]],
    size: int,
    clients: int,
    warmup: float,
    duration: float,
    cpu: CpuMeter,
    quiet_wait: float,
) -> dict[str, Any]:
    """`clients` closed-loop GETs over `urls` round robin; the answers that end in the window."""
    done: list[tuple[float, int]] = []
    errors: Counter[str] = Counter()
    stop = asyncio.Event()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(start: int) -> None:
            for index in itertools.count(start):
                if stop.is_set():
                    return
                url, headers = urls[index % len(urls)]
                received = 0
                async with http.get(url, headers=headers) as response:
                    async for chunk in response.content.iter_chunked(CHUNK):
                        received += len(chunk)
                if response.status != 200 or received != size:
                    errors[f"{response.status}, {received} bytes"] += 1
                else:
                    done.append((time.perf_counter(), received))

        busy_before = await quiet_machine(quiet_wait)
        tasks = [asyncio.create_task(client(i * len(urls) // clients)) for i in range(clients)]
        await asyncio.sleep(warmup)
        cpu.start()
        t0 = time.perf_counter()
        await asyncio.sleep(duration)
        t1 = time.perf_counter()
        cores = cpu.stop()
        stop.set()
        await asyncio.gather(*tasks)
    in_window = [b for t, b in done if t0 <= t <= t1]
    window = t1 - t0
    return {
        "size": size,
        "clients": clients,
        "window_seconds": round(window, 3),
        "requests": len(in_window),
        "per_second": round(len(in_window) / window, 1),
        "mb_per_second": round(sum(in_window) / MB / window, 1),
        "errors": dict(errors),
        "cpu_cores": cores,
        "cpu_ms_per_request": cpu_ms_per_item(cores, window, len(in_window)),
        "machine_busy_cores_before": busy_before,
    }


def serve_static(folder: str, port: int) -> None:
    """The baseline's file server (run as its own process): GET /{name} is the file."""
    from aiohttp import web

    async def handler(request: web.Request) -> web.FileResponse:
        name = request.match_info["name"]
        if "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        return web.FileResponse(Path(folder) / name)

    app = web.Application()
    app.router.add_get("/{name}", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=uvloop.new_event_loop())


def start_static_server(folder: Path, port: int, sendfile: bool) -> "subprocess.Popen[bytes]":
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'gen'}{os.pathsep}{ROOT}"}
    if not sendfile:
        env["AIOHTTP_NOSENDFILE"] = "1"
    command = [sys.executable, "-m", "bench.media", "--static-server", str(folder), "--port", str(port)]
    return subprocess.Popen(command, cwd=ROOT, env=env)


async def serve(
    args: argparse.Namespace,
    stack: Stack,
    http: aiohttp.ClientSession,
    accounts: list[Account],
    pids: dict[str, list[int]],
) -> dict[str, Any]:
    result: dict[str, Any] = {"sizes": []}
    account = accounts[0]
    headers = {"Authorization": f"Bearer {account.api_key}"}
    for mime_type, size in (("image/jpeg", args.image_bytes), ("video/mp4", args.video_bytes)):
        folder = Path(tempfile.mkdtemp(prefix="pigeon-bench-static-"))
        ids = []
        for index in range(args.serve_files):
            data = random.randbytes(size)
            answer = await upload(http, stack.gateway_url, account, mime_type, size, data)
            ids.append(answer["id"])
            (folder / str(index)).write_bytes(data)
        entry: dict[str, Any] = {"size": size, "mime_type": mime_type, "files": args.serve_files}
        pigeon_urls = [(f"{stack.gateway_url}/media/{media_id}", headers) for media_id in ids]
        entry["pigeon"] = await get_load(
            pigeon_urls,
            size,
            args.clients,
            args.warmup,
            args.serve_seconds,
            CpuMeter({**pids}, embedded_postmaster_pid()),
            args.quiet_wait,
        )
        print(
            f"  GET /media {size / MB:g} MB: {entry['pigeon']['per_second']}/s, "
            f"{entry['pigeon']['mb_per_second']} MB/s, errors {entry['pigeon']['errors']}",
            flush=True,
        )
        for sendfile in (False, True):
            port = free_port()
            static = await asyncio.to_thread(start_static_server, folder, port, sendfile)
            try:
                await asyncio.to_thread(wait_for_port, port, static)
                static_urls: list[tuple[str, dict[str, str]]] = [
                    (f"http://127.0.0.1:{port}/{i}", {}) for i in range(args.serve_files)
                ]
                meter = CpuMeter({"static_server": [static.pid], "bench": [os.getpid()]})
                name = "static_sendfile" if sendfile else "static"
                entry[name] = await get_load(
                    static_urls, size, args.clients, args.warmup, args.serve_seconds, meter, args.quiet_wait
                )
            finally:
                static.terminate()
                await asyncio.to_thread(static.wait)
            print(
                f"  static server{' (sendfile)' if sendfile else ''} {size / MB:g} MB: "
                f"{entry[name]['per_second']}/s, {entry[name]['mb_per_second']} MB/s, "
                f"errors {entry[name]['errors']}",
                flush=True,
            )
        shutil.rmtree(folder, ignore_errors=True)
        result["sizes"].append(entry)
    return result


# --- part 3: peak RSS under parallel uploads ----------------------------------------------------


async def rss(
    args: argparse.Namespace,
    stack: Stack,
    http: aiohttp.ClientSession,
    accounts: list[Account],
    pids: dict[str, list[int]],
) -> dict[str, Any]:
    watched = {name: pid_list[0] for name, pid_list in pids.items() if name != "bench"}
    watched["bench"] = os.getpid()
    reset = {name: reset_peak_rss(pid) for name, pid in watched.items()}
    result: dict[str, Any] = {
        "uploads": args.rss_uploads,
        "mime_type": "video/mp4",
        "peak_reset": reset,
        "before": {
            name: {"rss_kb": proc_status_kb(pid, "VmRSS"), "hwm_kb": proc_status_kb(pid, "VmHWM")}
            for name, pid in watched.items()
        },
        "rounds": [],
    }
    for mime_type, size in args.rss_rounds:
        started = time.perf_counter()
        answers = await asyncio.gather(
            *(
                upload(http, stack.gateway_url, accounts[i % len(accounts)], mime_type, size)
                for i in range(args.rss_uploads)
            )
        )
        seconds = time.perf_counter() - started
        wrong = sum(1 for a in answers if a.get("size") != size or a.get("status") != "stored")
        hwm = {name: proc_status_kb(pid, "VmHWM") for name, pid in watched.items()}
        result["rounds"].append(
            {
                "mime_type": mime_type,
                "size": size,
                "total_bytes": size * args.rss_uploads,
                "seconds": round(seconds, 3),
                "mb_per_second": round(size * args.rss_uploads / MB / seconds, 1),
                "wrong_answers": wrong,
                "hwm_kb": hwm,
            }
        )
        print(
            f"  {args.rss_uploads} parallel uploads of {size / MB:g} MB {mime_type} in {seconds:.1f} s; "
            f"VmHWM MB: {' '.join(f'{k} {(v or 0) / 1024:.0f}' for k, v in hwm.items())}",
            flush=True,
        )
    # From each round to the next: how much each peak grew, and that over the later round's bytes.
    result["growth"] = [
        {
            "from_size": before["size"],
            "to_size": after["size"],
            "to_total_bytes": after["total_bytes"],
            "mb": {
                name: round(((after["hwm_kb"][name] or 0) - (before["hwm_kb"][name] or 0)) * 1024 / MB, 1)
                for name in watched
            },
            "of_total_bytes": {
                name: round(
                    ((after["hwm_kb"][name] or 0) - (before["hwm_kb"][name] or 0))
                    * 1024
                    / after["total_bytes"],
                    4,
                )
                for name in watched
            },
        }
        for before, after in itertools.pairwise(result["rounds"])
    ]
    return result


# --- the run -----------------------------------------------------------------------------------


async def seed(url: str, count: int) -> list[Account]:
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        return [
            Account.of(
                await create_account(engine, f"Media {i + 1}", conversations=1, messages_per_second=1000)
            )
            for i in range(count)
        ]
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    print(f"preparing database {DATABASE}")
    url = await fresh_database(DATABASE)
    accounts = await seed(url, args.accounts)
    media_root = Path(tempfile.mkdtemp(prefix="pigeon-bench-media-"))
    log_dir = LOG_DIR / "media"
    stack = Stack(
        database_url=url,
        log_dir=log_dir,
        extra_env={
            "RATE_LIMIT_PER_SECOND": "1000000",
            "RATE_LIMIT_BURST": "1000000",
            "MEDIA_ROOT": str(media_root),
            "MEDIA_CONCURRENCY": str(args.media_concurrency[0] if "ingest" in args.parts else 8),
        },
        sim_env={"SIM_LATENCY": "0"},
    )
    phone_numbers = [
        {
            "phone_number_id": a.phone_number_id,
            "access_token": a.access_token,
            "app_secret": a.app_secret,
            "mps": 1000,
        }
        for a in accounts
    ]
    print(f"starting the stack (logs in {log_dir}, media under {media_root})...", flush=True)
    await asyncio.to_thread(stack.start, phone_numbers)
    result: dict[str, Any] = {"media_root": str(media_root), "load_before": load_average()}
    db = await asyncpg.connect(database_dsn(url))
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    try:

        def service_pids() -> dict[str, list[int]]:
            found = {s.name: [s.process.pid] for s in stack.services if s.process is not None}
            return {**found, "bench": [os.getpid()]}

        def meter() -> CpuMeter:
            return CpuMeter(service_pids(), embedded_postmaster_pid())

        # The RSS part first, on the processes as started: the ingest part restarts conversations.
        if "rss" in args.parts:
            print("peak RSS under parallel uploads:", flush=True)
            result["rss"] = await rss(args, stack, http, accounts, service_pids())
        if "serve" in args.parts:
            print("GET /media/{id}:", flush=True)
            result["serve"] = await serve(args, stack, http, accounts, service_pids())
        if "ingest" in args.parts:
            print("inbound media ingest:", flush=True)
            result["ingest"] = await ingest(args, stack, db, http, accounts, meter)
        result["peak_rss_kb_whole_run"] = {
            name: proc_status_kb(pids[0], "VmHWM") for name, pids in service_pids().items()
        }
    finally:
        await http.close()
        await db.close()
        result["load_after"] = load_average()
        result["stopped"] = await asyncio.to_thread(stack.stop)
        shutil.rmtree(media_root, ignore_errors=True)
    return result


# --- report ------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def cpu_line(figures: dict[str, float], names: tuple[str, ...]) -> str:
    return ", ".join(f"{n} {figures[n]:.1f}" for n in names if n in figures)


def report(result: dict[str, Any]) -> None:
    if "rss" in result:
        report_rss(result["rss"])
    if "serve" in result:
        report_serve(result["serve"])
    if "ingest" in result:
        report_ingest(result["ingest"])


INGEST_NAMES = ("gateway", "conversations", "sender", "simulator", "postgres", "bench", "other")


def report_ingest(result: dict[str, Any]) -> None:
    print("\nInbound media, 16 clients: end to end (first injection -> last stored) and the copy path")
    print("alone (copies waiting, let go at once); ratio: MB/s over the bare download of the same files")
    print(
        f"{'MEDIA_CONC.':>12}{'kind':>7}{'files':>7}{'e2e /s':>9}{'MB/s':>8}{'ratio':>7}{'copy /s':>9}"
        f"{'MB/s':>8}{'ratio':>7}{'fsync ratio':>12}"
    )
    bare = {(b["kind"], b["fsync"]): b for b in result["baseline"]}
    for level in result["levels"]:
        for phase, drain in zip(level["phases"], level["drain"], strict=True):
            plain, synced = bare[(phase["kind"], False)], bare[(phase["kind"], True)]
            print(
                f"{level['media_concurrency']:>12}{phase['kind']:>7}{phase['stored']:>7}"
                f"{phase['per_second']:>9.1f}{phase['mb_per_second']:>8.1f}"
                f"{ratio(phase['mb_per_second'], plain['mb_per_second']):>7}"
                f"{drain['per_second']:>9.1f}{drain['mb_per_second']:>8.1f}"
                f"{ratio(drain['mb_per_second'], plain['mb_per_second']):>7}"
                f"{ratio(drain['mb_per_second'], synced['mb_per_second']):>12}"
            )
            print(f"{'':>12}  e2e CPU ms per file: {cpu_line(phase['cpu_ms_per_attachment'], INGEST_NAMES)}")
            print(f"{'':>12}  copy CPU ms per file: {cpu_line(drain['cpu_ms_per_attachment'], INGEST_NAMES)}")
    for b in result["baseline"]:
        print(
            f"  bare download{' + fsync' if b['fsync'] else ''} {b['kind']}: {b['per_second']}/s, "
            f"{b['mb_per_second']} MB/s; CPU ms per file: "
            f"{cpu_line(b['cpu_ms_per_attachment'], INGEST_NAMES)}"
        )


def report_serve(result: dict[str, Any]) -> None:
    print("\nGET /media/{id}, closed loop round robin; the same bytes from a static aiohttp server")
    print(
        f"{'size MB':>8}{'pigeon /s':>11}{'MB/s':>8}{'static /s':>11}{'MB/s':>8}{'ratio':>7}"
        f"{'sendfile MB/s':>15}{'ratio':>7}"
    )
    for entry in result["sizes"]:
        p, s, f = entry["pigeon"], entry["static"], entry["static_sendfile"]
        mbs = p["mb_per_second"]
        print(
            f"{entry['size'] / MB:>8g}{p['per_second']:>11.1f}{mbs:>8.1f}"
            f"{s['per_second']:>11.1f}{s['mb_per_second']:>8.1f}{ratio(mbs, s['mb_per_second']):>7}"
            f"{f['mb_per_second']:>15.1f}{ratio(mbs, f['mb_per_second']):>7}"
        )
        pigeon_cpu = cpu_line(p["cpu_ms_per_request"], ("gateway", "conversations", "postgres", "bench"))
        static_cpu = cpu_line(s["cpu_ms_per_request"], ("static_server", "bench"))
        print(f"{'':>8}  CPU ms per request: pigeon {pigeon_cpu}; static {static_cpu}")


def report_rss(result: dict[str, Any]) -> None:
    rounds = result["rounds"]
    print(f"\nPeak RSS (VmHWM, MB), {result['uploads']} parallel streamed uploads a round")
    heads = "".join(f"{r['size'] / MB:>9g} MB" for r in rounds)
    growths = "".join(f"{'growth':>9}{'/bytes':>8}" for _ in result["growth"])
    print(f"{'process':>14}{'start':>9}{heads}{growths}")
    for name, before in result["before"].items():
        peaks = "".join(f"{(r['hwm_kb'][name] or 0) / 1024:>12.0f}" for r in rounds)
        grown = "".join(f"{g['mb'][name]:>9.1f}{g['of_total_bytes'][name]:>8.3f}" for g in result["growth"])
        print(f"{name:>14}{(before['hwm_kb'] or 0) / 1024:>9.0f}{peaks}{grown}")


async def copies_settled(db: asyncpg.Connection, ids: list[str], patience: float) -> asyncpg.Record:
    """The phase's files once each is stored or failed, or `patience` seconds passed."""
    deadline = time.monotonic() + patience
    while True:
        state = await db.fetchrow(_PHASE_STATE, ids)
        assert state is not None
        if state["stored"] + state["failed"] >= len(ids) or time.monotonic() > deadline:
            return state
        await asyncio.sleep(0.05)


async def main(args: argparse.Namespace) -> int:
    started_at = datetime.now(UTC)
    document = results_document("media", args, started_at, leave_out=("static_server", "port"))
    print(f"load average {load_average()}, machine busy {await busy_cores(2.0)} cores before the run")
    document.update(await run(args))
    report(document)
    write_results(document, "media", started_at)
    errors = _errors(document)
    if errors:
        print("ERRORS: " + "; ".join(errors))
        return 1
    return 0


def _errors(document: dict[str, Any]) -> list[str]:
    found = []
    for level in document.get("ingest", {}).get("levels", []):
        for phase in level["phases"] + level["drain"]:
            if phase["failed"] or phase["errors"] or phase["not_done_in_time"]:
                found.append(
                    f"ingest {phase['kind']} at {level['media_concurrency']}: {phase['failed']} failed "
                    f"{phase['failure_reasons']}, {phase['not_done_in_time']} not done, {phase['errors']}"
                )
    for baseline in document.get("ingest", {}).get("baseline", []):
        if baseline["errors"]:
            found.append(f"bare download {baseline['kind']}: {baseline['errors']}")
    for entry in document.get("serve", {}).get("sizes", []):
        for name in ("pigeon", "static", "static_sendfile"):
            if entry[name]["errors"]:
                found.append(f"GET {name} {entry['size']}: {entry[name]['errors']}")
    for round_ in document.get("rss", {}).get("rounds", []):
        if round_["wrong_answers"]:
            found.append(f"uploads of {round_['size']}: {round_['wrong_answers']} wrong answers")
    return found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(prog="python -m bench.media", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--parts",
        default="rss,serve,ingest",
        type=lambda raw: raw.split(","),
        help="any of rss, serve, ingest (default all three, in that order)",
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--accounts", type=int, default=2, help="accounts the files spread over (default 2)")
    parser.add_argument("--images", type=int, default=600, help="images injected per phase (default 600)")
    parser.add_argument("--videos", type=int, default=60, help="videos injected per phase (default 60)")
    parser.add_argument("--image-bytes", type=int, default=100_000, help="bytes of an image (default 100000)")
    parser.add_argument(
        "--video-bytes", type=int, default=5_000_000, help="bytes of a video (default 5000000)"
    )
    parser.add_argument(
        "--media-concurrency",
        default=[8, 16],
        type=lambda raw: [int(c) for c in raw.split(",")],
        help="MEDIA_CONCURRENCY values, one ingest level each (default 8,16)",
    )
    parser.add_argument(
        "--ingest-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for a phase's copies (default 300)",
    )
    parser.add_argument(
        "--baseline-runs", type=int, default=3, help="bare downloads of each set, the median kept (default 3)"
    )
    parser.add_argument("--serve-files", type=int, default=20, help="files uploaded per size (default 20)")
    parser.add_argument(
        "--serve-seconds",
        type=float,
        default=10.0,
        help="measured seconds of GETs per size and server (default 10)",
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds of GETs (default 1)")
    parser.add_argument("--rss-uploads", type=int, default=32, help="parallel uploads (default 32)")
    parser.add_argument(
        "--rss-rounds",
        default=[("video/mp4", 1_000_000), ("video/mp4", 15_900_000), ("application/pdf", 48_000_000)],
        type=lambda raw: [(item.split(":")[0], int(item.split(":")[1])) for item in raw.split(",")],
        help="MIME:BYTES of each round's uploads (default video/mp4:1000000,video/mp4:15900000,"
        "application/pdf:48000000; video/mp4's limit is 16000000 bytes, a document's 100000000)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help=f"seconds to wait before a phase for under {NOISE_CORES} cores busy (default 10)",
    )
    parser.add_argument("--static-server", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if unknown := set(args.parts) - {"rss", "serve", "ingest"}:
        parser.error(f"unknown parts {sorted(unknown)}")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.static_server:
        serve_static(arguments.static_server, arguments.port)
        sys.exit(0)
    sys.exit(uvloop.run(main(arguments)))
