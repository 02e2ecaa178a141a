"""The committed Python client (clients/python/pigeon_client) is the one the current OpenAPI
document generates: regenerated here into a temporary folder (in-process document, no network)
and compared file by file."""

import filecmp
import tomllib
from pathlib import Path

from services.shared.version import VERSION
from tools.clientgen import CLIENTS, PACKAGE, generate

STALE = "the committed client differs from the OpenAPI document's: run make client, and commit it"


def differences(committed: Path, fresh: Path) -> list[str]:
    """Paths (relative to the two folders) that are only in one of them or differ."""
    found: list[str] = []
    stack = [filecmp.dircmp(committed, fresh, ignore=["__pycache__"])]
    while stack:
        comparison = stack.pop()
        where = Path(comparison.left).relative_to(committed)
        found += [f"only committed: {where / name}" for name in comparison.left_only]
        found += [f"only generated: {where / name}" for name in comparison.right_only]
        # Compared by content, not by os.stat's size and time.
        _, mismatch, errors = filecmp.cmpfiles(
            comparison.left, comparison.right, comparison.common_files, shallow=False
        )
        found += [f"differs: {where / name}" for name in mismatch + errors]
        stack += comparison.subdirs.values()
    return sorted(found)


def test_the_committed_client_is_generated_from_the_current_document(tmp_path: Path) -> None:
    fresh = tmp_path / "pigeon_client"
    generate(fresh)
    found = differences(PACKAGE, fresh)
    assert not found, f"{STALE}:\n" + "\n".join(found)


def test_the_client_package_has_the_api_version() -> None:
    client = tomllib.loads((CLIENTS / "pyproject.toml").read_text())
    assert client["project"]["version"] == VERSION
