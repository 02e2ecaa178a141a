"""Regenerates the locked requirements in requirements/ from pyproject.toml (`make lock`).

- requirements/dev.txt: the project's dependencies and its dev extra, what `make` installs.
- requirements/runtime.txt: what the Docker image installs. The dependencies without pgserver
  (the embedded PostgreSQL of `make run` and the tests; in compose and Kubernetes the database is
  a server of its own, and only tools/stack.py imports pgserver, lazily), plus grpcio-tools, with
  which the image's build generates the gRPC code and which it then removes. Every version is the
  one in dev.txt, so the image runs what the tests ran.

Both are resolved by uv for CPython 3.11 on x86_64 Linux (the CI machine, and python:3.11-slim),
with every file's hash, so that pip installs them with --require-hashes. uv keeps the versions
already in a lock file wherever pyproject.toml still allows them: adding a dependency adds only
what it needs. `make lock LOCK_ARGS=--upgrade` moves everything to the newest allowed versions.

Each lock records a digest of what it was made from (pyproject's dependency lists and the choices
above); tests/unit/test_lockfiles.py fails when that changed and the locks were not remade.

Run as `python -m tools.lock --uv PATH [uv pip compile options]`: it needs only the standard
library and uv, not the project's venv (which is installed from these very files).
"""

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"

PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-unknown-linux-gnu"
# Left out of the image's lock, by distribution name.
RUNTIME_LEAVES_OUT = ("pgserver",)
# Added to the image's lock (the build removes them once done), by distribution name; their
# specifiers come from the dev extra.
RUNTIME_BUILD_TOOLS = ("grpcio-tools",)

DIGEST_PREFIX = "# inputs digest: "
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def canonical_name(name: str) -> str:
    """PEP 503's normalized form: Foo_Bar and foo-bar are one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = NAME.match(requirement.strip())
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical_name(match.group())


def load_project(pyproject: Path = PYPROJECT) -> dict[str, Any]:
    with pyproject.open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def runtime_requirements(project: dict[str, Any]) -> list[str]:
    """The image's input: the project's dependencies but those left out, and the build tools."""
    dependencies: list[str] = project["dependencies"]
    dev: list[str] = project.get("optional-dependencies", {}).get("dev", [])
    kept = [d for d in dependencies if requirement_name(d) not in RUNTIME_LEAVES_OUT]
    tools = [d for d in dev if requirement_name(d) in RUNTIME_BUILD_TOOLS]
    missing = set(RUNTIME_BUILD_TOOLS) - {requirement_name(t) for t in tools}
    if missing:
        raise ValueError(f"build tools not in the dev extra: {sorted(missing)}")
    return kept + tools


def inputs_digest(project: dict[str, Any]) -> str:
    """What the locks depend on, hashed: any change to it calls for `make lock`."""
    inputs = {
        "requires-python": project.get("requires-python"),
        "dependencies": project["dependencies"],
        "optional-dependencies": project.get("optional-dependencies", {}),
        "python": [PYTHON_VERSION, PYTHON_PLATFORM],
        "runtime-leaves-out": RUNTIME_LEAVES_OUT,
        "runtime-build-tools": RUNTIME_BUILD_TOOLS,
    }
    encoded = json.dumps(inputs, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def recorded_digest(lock: Path) -> str | None:
    for line in lock.read_text().splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line.removeprefix(DIGEST_PREFIX).split()[0]
    return None


def compile_lock(uv: str, output: Path, sources: list[str], stdin: str | None, extra: list[str]) -> None:
    command = [
        uv,
        "pip",
        "compile",
        *sources,
        "--generate-hashes",
        "--python-version",
        PYTHON_VERSION,
        "--python-platform",
        PYTHON_PLATFORM,
        "--custom-compile-command",
        "make lock",
        "--quiet",
        "--output-file",
        str(output.relative_to(ROOT)),
        *extra,
    ]
    subprocess.run(command, cwd=ROOT, input=stdin, text=True, check=True)


def record_digest(lock: Path, digest: str) -> None:
    """Writes the digest under uv's header comment (uv reads the file back as its preferences
    next time, and ignores comments)."""
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(DIGEST_PREFIX)]
    header_end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines.insert(header_end, f"{DIGEST_PREFIX}{digest} (tools/lock.py)")
    lock.write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", required=True, help="the uv executable")
    args, uv_options = parser.parse_known_args()
    project = load_project()
    digest = inputs_digest(project)
    DEV_LOCK.parent.mkdir(exist_ok=True)

    compile_lock(args.uv, DEV_LOCK, ["pyproject.toml", "--extra", "dev"], None, uv_options)
    record_digest(DEV_LOCK, digest)
    # From standard input (the list is derived, not kept in a file), held to dev.txt's versions.
    runtime_input = "\n".join(runtime_requirements(project)) + "\n"
    constraint = ["--constraint", str(DEV_LOCK.relative_to(ROOT))]
    compile_lock(args.uv, RUNTIME_LOCK, ["-"], runtime_input, constraint + uv_options)
    record_digest(RUNTIME_LOCK, digest)
    print(f"locked {DEV_LOCK.relative_to(ROOT)} and {RUNTIME_LOCK.relative_to(ROOT)} ({digest[:19]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
