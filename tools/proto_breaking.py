"""Checks that the gRPC contracts only grow: protos/ as it is now (uncommitted edits included)
against every version of it in git history, with `buf breaking` and the rules of buf.yaml.

Every version, not only the last: a field added in one commit and removed a few commits later
would pass a check against the previous commit alone, yet break whatever ran in between. The
versions are the commits that changed protos/, so the check costs half a second per change.

Run as `python -m tools.proto_breaking BUF` (`make lint` does), BUF being the buf binary.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tools.proto_breaking BUF", file=sys.stderr)
        return 2
    buf = argv[0]
    if git("rev-parse", "--is-shallow-repository").strip() == "true":
        # A shallow clone lacks the versions to compare with: saying "compatible" would be a lie.
        print("proto_breaking: a shallow clone; run `git fetch --unshallow` first", file=sys.stderr)
        return 2
    versions = git("log", "--format=%H", "--", "protos").split()
    broken = 0
    for commit in versions:
        against = f".git#ref={commit},subdir=protos"
        answer = subprocess.run([buf, "breaking", "protos", "--against", against], cwd=ROOT)
        if answer.returncode != 0:
            print(f"proto_breaking: protos/ breaks the contracts of {commit[:12]}", file=sys.stderr)
            broken += 1
    print(f"proto_breaking: protos/ checked against {len(versions)} versions, {broken} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
