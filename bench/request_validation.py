"""Microbenchmark of a send body's parsing and validation (`parse_send`): this tree against a
baseline revision, alternated: `python -m bench.request_validation [--baseline REV]`.

The baseline's `services/` is taken from git (`git archive`) into a temporary directory; each
round runs one worker process per tree, in turn (baseline, this tree, then the other way round
next round), so that a busy neighbour on the shared machine slows both alike. A worker times
`parse_send` on typical bodies (a text, a template with parameters, interactive buttons, an
image by link) and on the longest text (4096 four-byte characters) with timeit: the best of
--repeat runs of --number calls, in microseconds a call. It also reports what each body became
(its type and content JSON): the two trees must agree on every body, or the comparison would be
of different work.

The figures: for each body, the median over the rounds of each tree's best, and new/old.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The last revision whose gateway validated send bodies by hand (issue 23 replaced it).
DEFAULT_BASELINE = "f3d2b40"

BODIES: dict[str, dict[str, Any]] = {
    "text": {
        "conversation_id": "3f0c9a52-1d2e-4c5b-8a6f-0123456789ab",
        "type": "text",
        "text": {"body": "Your order #1234 has shipped and should arrive on Thursday."},
    },
    # The longest text there is: 4096 characters of four UTF-8 bytes each (16 KiB).
    "long text": {
        "conversation_id": "3f0c9a52-1d2e-4c5b-8a6f-0123456789ab",
        "type": "text",
        "text": {"body": "\U0001f600" * 4096},
    },
    "template": {
        "to": "+15551234567",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "header",
                    "parameters": [{"type": "image", "image": {"link": "https://x.org/a.png"}}],
                },
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "#1234"}],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": "t"}],
                },
            ],
        },
    },
    "interactive": {
        "to": "15551234567",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "text", "text": "Delivery"},
            "body": {"text": "Is Thursday fine?"},
            "footer": {"text": "pigeon"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "no", "title": "Another day"}},
                ]
            },
        },
    },
    "image": {
        "conversation_id": "3f0c9a52-1d2e-4c5b-8a6f-0123456789ab",
        "type": "image",
        "image": {"link": "https://cdn.example.com/cat.jpg", "caption": "a cat"},
        "context": {"message_id": "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI"},
    },
}


def worker(number: int, repeat: int) -> None:
    """Times this process's `parse_send` (whichever tree PYTHONPATH names) on each body."""
    from services.gateway.validation import parse_send

    results = {}
    for name, body in BODIES.items():
        raw = json.dumps(body, ensure_ascii=False).encode()
        command = parse_send(raw)
        best = min(timeit.repeat(lambda raw=raw: parse_send(raw), number=number, repeat=repeat))
        results[name] = {
            "us": best / number * 1e6,
            "became": [command.type, command.to, command.conversation_id, command.body_json.decode()],
        }
    print(json.dumps(results))


def run_worker(tree: Path, number: int, repeat: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{ROOT / 'gen'}"}
    command = [sys.executable, __file__, "--worker", "--number", str(number), "--repeat", str(repeat)]
    done = subprocess.run(command, env=env, cwd=tree, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--number", type=int, default=20_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per worker (the best is kept)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.number, args.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="pigeon-baseline-") as baseline:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.baseline, "services"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", baseline], input=archive, check=True)
        trees = {"old": Path(baseline), "new": ROOT}
        timings: dict[str, dict[str, list[float]]] = {tree: {name: [] for name in BODIES} for tree in trees}
        for round_number in range(args.rounds):
            order = ["old", "new"] if round_number % 2 == 0 else ["new", "old"]
            became = {}
            for tree in order:
                result = run_worker(trees[tree], args.number, args.repeat)
                became[tree] = {name: figures["became"] for name, figures in result.items()}
                for name, figures in result.items():
                    timings[tree][name].append(figures["us"])
            for name in BODIES:
                if became["old"][name] != became["new"][name]:
                    sys.exit(
                        f"{name}: the trees disagree:\n old {became['old'][name]}\n new {became['new'][name]}"
                    )
            print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)
    print(
        f"parse_send, µs a call (median over {args.rounds} rounds; each the best of {args.repeat} x "
        f"{args.number})"
    )
    print(f"baseline {args.baseline} (old) against this tree (new)")
    print(f"{'body':<12} {'old':>8} {'new':>8} {'new/old':>8}")
    for name in BODIES:
        old, new = (statistics.median(timings[tree][name]) for tree in ("old", "new"))
        print(f"{name:<12} {old:8.2f} {new:8.2f} {new / old:8.2f}")


if __name__ == "__main__":
    main()
