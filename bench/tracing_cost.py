"""The cost of tracing from alternated `bench.sync_send` runs with and without `--tracing [RATIO]`:
`python -m bench.tracing_cost [FILE...]` (default: every sync_send result in .pigeon/bench-results).

For each scenario, without tracing and with each sampling ratio run, the median over all measured
runs and their range (lowest-highest) as the noise: sends per second, client latency p50 and p99,
and the CPU the three services spent per send (gateway + conversations + sender, in milliseconds),
which the machine's other load disturbs less than throughput or latency.
"""

import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from bench.common import RESULTS_DIR

SERVICES = ("gateway", "conversations", "sender")


def figures(run: dict[str, Any]) -> dict[str, float]:
    cores = run["cpu_cores"]
    throughput = float(run["throughput"])
    return {
        "sends/s": throughput,
        "lat p50 ms": float(run["latency_ms"]["p50"]),
        "lat p99 ms": float(run["latency_ms"]["p99"]),
        "cpu ms/send": 1000 * sum(float(cores[s]) for s in SERVICES) / throughput if throughput else 0.0,
    }


def side(config: dict[str, Any]) -> str:
    """ "off", or the sampling ratio traced ("1.0": every send)."""
    tracing = config.get("tracing")
    if tracing is None or tracing is False:
        return "off"
    return str(1.0 if tracing is True else float(tracing))  # True: before --tracing took a ratio


def main(paths: list[Path]) -> None:
    # (scenario, side) -> figure -> values of every run
    values: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    files: dict[str, int] = defaultdict(int)
    for path in paths:
        document = orjson.loads(path.read_bytes())
        traced = side(document["config"])
        files[traced] += 1
        for scenario in document["scenarios"]:
            for run in scenario["runs"]:
                for name, value in figures(run).items():
                    values[(scenario["scenario"], traced)][name].append(value)
    sides = sorted(files, key=lambda s: -1.0 if s == "off" else float(s))
    print("result files: " + ", ".join(f"{files[s]} tracing {s}" for s in sides))
    for scenario in sorted({s for s, _ in values}):
        print(
            f"\n{scenario}: median (lowest-highest, runs) per side: "
            + " | ".join(f"tracing {s}" for s in sides)
        )
        for name in ("sends/s", "lat p50 ms", "lat p99 ms", "cpu ms/send"):
            cells = []
            for traced in sides:
                runs = values[(scenario, traced)][name]
                cells.append(
                    f"{statistics.median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f}, {len(runs)})"
                    if runs
                    else "-"
                )
            print(f"  {name:<12} " + " | ".join(f"{c:<30}" for c in cells))


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]] or sorted(RESULTS_DIR.glob("sync_send-*.json")))
