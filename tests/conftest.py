"""Fixtures shared by all tests; each lives in tests/fixtures/ by what it starts."""

from tests.fixtures.simulator import *  # noqa: F403
