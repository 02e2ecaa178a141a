"""Event loops: every pigeon process runs on uvloop."""

from collections.abc import Coroutine
from typing import Any

import uvloop


def run(main: Coroutine[Any, Any, None]) -> None:
    uvloop.run(main)


def new_event_loop() -> uvloop.Loop:
    """For frameworks that run their own loop (aiohttp's run_app)."""
    return uvloop.new_event_loop()
