"""The locked requirements (requirements/*.txt, made by `make lock`, tools/lock.py) are current
with pyproject.toml, and hold what `make` and the Docker image rely on. Offline: the locks are read,
not resolved again."""

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tools import lock


def pins(path) -> dict[str, Version]:
    """name -> version of every `name==version` line of a lock."""
    pinned = {}
    for line in path.read_text().splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            name, _, version = line.split(" ")[0].partition("==")
            pinned[lock.canonical_name(name)] = Version(version)
    return pinned


@pytest.mark.parametrize("path", [lock.DEV_LOCK, lock.RUNTIME_LOCK], ids=lambda p: p.name)
def test_each_lock_was_made_from_the_current_pyproject(path):
    expected = lock.inputs_digest(lock.load_project())
    assert lock.recorded_digest(path) == expected, (
        f"{path.relative_to(lock.ROOT)} is older than pyproject.toml's dependencies: run `make lock`"
    )


def test_each_lock_line_carries_hashes():
    """pip's --require-hashes refuses a lock with one unhashed requirement."""
    for path in (lock.DEV_LOCK, lock.RUNTIME_LOCK):
        lines = path.read_text().splitlines()
        for index, line in enumerate(lines):
            if "==" in line and not line.startswith("#"):
                assert line.endswith("\\") and "--hash=sha256:" in lines[index + 1], (path.name, line)


def test_dev_lock_satisfies_every_dependency_and_the_dev_extra():
    project = lock.load_project()
    pinned = pins(lock.DEV_LOCK)
    for text in project["dependencies"] + project["optional-dependencies"]["dev"]:
        requirement = Requirement(text)
        name = lock.canonical_name(requirement.name)
        assert name in pinned, f"{name} is not locked: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (text, pinned[name])


def test_runtime_lock_is_the_dev_versions_of_the_image_requirements():
    """The image runs the versions the tests ran, without pgserver, with grpcio-tools to build."""
    runtime = pins(lock.RUNTIME_LOCK)
    dev = pins(lock.DEV_LOCK)
    assert {name: dev.get(name) for name in runtime} == runtime
    for text in lock.runtime_requirements(lock.load_project()):
        assert lock.requirement_name(text) in runtime
    assert not set(lock.RUNTIME_LEAVES_OUT) & set(runtime)
