"""What every pigeon benchmark shares: the database, the machine, statistics, CPU accounting."""

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from tools.stack import DATA_DIR, database_url, ensure_database, migrate

RESULTS_DIR = DATA_DIR / "bench-results"
LOG_DIR = DATA_DIR / "bench-logs"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


async def fresh_database(name: str) -> str:
    """A new, migrated database `name` on DATABASE_URL's server or the embedded PostgreSQL."""
    import asyncio

    server_url = await asyncio.to_thread(database_url)
    url = await ensure_database(server_url, name, fresh=True)
    await migrate(url)
    return url


def python_speed_seconds(iterations: int = 5_000_000, repeats: int = 3) -> float:
    """Seconds for a fixed pure-Python loop, the best of `repeats`: a yardstick for comparing
    runs made on different machines of the same kind (their speed varies from day to day)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(iterations):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def machine() -> dict[str, Any]:
    cpu_model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": sys.version.split()[0],
        "python_speed_seconds": python_speed_seconds(),
        "platform": platform.platform(),
    }


def git_revision() -> dict[str, Any]:
    """The commit measured, and whether the services' code differed from it."""
    from tools.stack import ROOT

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "services", "tools", "protos")
    return {"commit": git("rev-parse", "HEAD") or None, "dirty_files": changed.splitlines()}


def results_document(
    benchmark: str, args: argparse.Namespace, started_at: datetime, leave_out: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A run's results document, begun: what was measured where; prints the code and the
    machine's speed, by which runs of other days are compared."""
    revision = git_revision()
    print(
        f"code: {revision['commit']}"
        + (f" with local changes {revision['dirty_files']}" if revision["dirty_files"] else "")
    )
    print(f"python speed: {python_speed_seconds():.3f} s for the yardstick loop (lower is faster)")
    return {
        "benchmark": benchmark,
        "started_at": started_at.isoformat(),
        "command": " ".join(shlex.quote(a) for a in ["python", "-m", f"bench.{benchmark}", *sys.argv[1:]]),
        "machine": machine(),
        "code": revision,
        "config": {k: v for k, v in vars(args).items() if k not in leave_out},
    }


def write_results(document: dict[str, Any], benchmark: str, started_at: datetime) -> Path:
    """The document as JSON in .pigeon/bench-results/, named by benchmark and start time."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{benchmark}-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    print(f"results written to {path}")
    return path


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks; `sorted_values` must be sorted."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def distribution_ms(values_seconds: Iterable[float]) -> dict[str, float | None]:
    ordered = sorted(v * 1000.0 for v in values_seconds)
    return {
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else None,
        "mean": statistics.fmean(ordered) if ordered else None,
    }


def median_of(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# --- CPU accounting -----------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of one process, from /proc/<pid>/stat; zeros once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    # The command name may hold spaces; fields after it are space separated.
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[11]) / _CLOCK_TICKS, int(fields[12]) / _CLOCK_TICKS


def _sum(readings: Iterable[tuple[float, float]]) -> tuple[float, float]:
    user = system = 0.0
    for u, s in readings:
        user += u
        system += s
    return user, system


def _children_of(parent: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        if int(raw.rsplit(")", 1)[1].split()[1]) == parent:
            children.append(int(entry.name))
    return children


def embedded_postmaster_pid() -> int | None:
    """The embedded PostgreSQL's postmaster, when that is the server in use."""
    if os.environ.get("DATABASE_URL"):
        return None
    try:
        return int((DATA_DIR / "pg" / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class CpuMeter:
    """CPU used by named processes between `start()` and `stop()`, in cores (CPU seconds per second).

    `pids` maps a name to pids; the postmaster, when given, stands for itself and all its
    backends (listed again at each reading, as connections come and go). `stop()` answers
    `name` (user + system) and `name_sys` (the kernel's part) for each, plus the whole machine
    and `other`: the machine's busy time not spent in any of them.
    """

    pids: dict[str, list[int]]
    postmaster: int | None = None

    def _read(self) -> dict[str, tuple[float, float]]:
        readings = {name: _sum(_cpu_seconds(pid) for pid in pids) for name, pids in self.pids.items()}
        readings["machine"] = _machine_busy_seconds()
        return readings

    def _read_postgres(self) -> dict[int, tuple[float, float]]:
        if self.postmaster is None:
            return {}
        return {pid: _cpu_seconds(pid) for pid in [self.postmaster, *_children_of(self.postmaster)]}

    def start(self) -> None:
        self._started = self._read()
        self._started_postgres = self._read_postgres()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        ended = self._read()
        ended_postgres = self._read_postgres()
        elapsed = time.perf_counter() - self._t0
        if self.postmaster is not None:
            # Backend by backend: one that exited in between takes its CPU with it, and must
            # not make the others' sum look smaller; a new one counts from zero.
            deltas = [
                (
                    max(0.0, user - self._started_postgres.get(pid, (0.0, 0.0))[0]),
                    max(0.0, system - self._started_postgres.get(pid, (0.0, 0.0))[1]),
                )
                for pid, (user, system) in ended_postgres.items()
            ]
            ended["postgres"] = _sum(deltas)
            self._started["postgres"] = (0.0, 0.0)
        cores: dict[str, float] = {}
        for name, (user, system) in ended.items():
            user0, system0 = self._started.get(name, (0.0, 0.0))
            user_cores = max(0.0, user - user0) / elapsed
            system_cores = max(0.0, system - system0) / elapsed
            cores[name] = round(user_cores + system_cores, 3)
            cores[f"{name}_sys"] = round(system_cores, 3)
        # Everything else on the machine (kernel threads, other programs): a noise warning.
        measured = sum(cores[name] for name in ended if name != "machine")
        cores["other"] = round(max(0.0, cores["machine"] - measured), 3)
        return cores


def machine_busy_cores(seconds: float) -> float:
    """Cores the whole machine keeps busy over the next `seconds` (blocks that long)."""
    before = sum(_machine_busy_seconds())
    time.sleep(seconds)
    return (sum(_machine_busy_seconds()) - before) / seconds


def _machine_busy_seconds() -> tuple[float, float]:
    """(user, system) busy CPU time of the whole machine, all cores, from /proc/stat;
    interrupts and steal count as system."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice) / _CLOCK_TICKS, (system + irq + softirq + steal) / _CLOCK_TICKS


def unix_socket_folder(enabled: bool) -> Path | None:
    """A short new folder for the services' Unix sockets (a socket's path may not exceed 107
    bytes, which a deep checkout's log folder could), or None for gRPC over TCP. The caller
    removes it with shutil.rmtree once the stack has stopped."""
    return Path(tempfile.mkdtemp(prefix="pigeon-")) if enabled else None


def parse_replicas(raw: str) -> dict[str, int]:
    replicas = {}
    for item in filter(None, raw.split(",")):
        service, _, count = item.partition("=")
        if service not in ("conversations", "sender", "gateway") or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(f"replicas {item!r}: expected SERVICE=COUNT")
        replicas[service] = int(count)
    return replicas


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """How the benchmarked stack runs: replicas per service, gRPC over TCP or Unix sockets."""
    parser.add_argument(
        "--replicas",
        type=parse_replicas,
        default={},
        help="replicas per service, e.g. conversations=2,sender=2 (default one each)",
    )
    parser.add_argument(
        "--unix-sockets",
        action="store_true",
        help="gRPC between the services over Unix sockets (SENDER_UNIX_SOCKET, CONVERSATIONS_UNIX_SOCKET)",
    )


def check_stack_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.unix_sockets and any(count != 1 for count in args.replicas.values()):
        parser.error("--unix-sockets takes one replica of each service")
