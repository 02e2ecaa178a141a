"""Fixtures shared by all tests; each lives in tests/fixtures/ by what it starts."""

from tests.fixtures.database import *  # noqa: F403
from tests.fixtures.receiver import *  # noqa: F403
from tests.fixtures.s3 import *  # noqa: F403
from tests.fixtures.simulator import *  # noqa: F403
from tests.fixtures.stack import *  # noqa: F403
