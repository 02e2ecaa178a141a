"""Domain and database errors as gRPC statuses: the one map (`status_for`), and the decorator
every servicer's handlers wear (`maps_errors`)."""

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import grpc
from pigeon.conversations.v1 import conversations_pb2 as pb

from services.conversations.adapters.database.errors import database_unavailable
from services.conversations.domain.errors import (
    Conflict,
    DomainError,
    EventsGone,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    OutcomeUnknown,
    Refused,
    Unauthenticated,
    Unavailable,
    VersionMismatch,
)

log = logging.getLogger(__name__)

_STATUS_BY_ERROR: dict[type[DomainError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    # Its text is "<refusal code>: <message>" (vocabulary.refusal_text): the gateway's 422.
    Refused: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
    EventsGone: grpc.StatusCode.OUT_OF_RANGE,
    Unavailable: grpc.StatusCode.UNAVAILABLE,
    # The gateway's 504 `outcome_unknown`, as when its own deadline for the send passes.
    OutcomeUnknown: grpc.StatusCode.DEADLINE_EXCEEDED,
    VersionMismatch: grpc.StatusCode.ABORTED,
}

Response = TypeVar("Response")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[Response]]


def status_for(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status of a domain or database error; re-raises anything else."""
    if isinstance(exc, DomainError):
        return _STATUS_BY_ERROR[type(exc)], str(exc)
    if isinstance(exc, asyncpg.exceptions.DataError):
        # A value PostgreSQL refuses to store (a \u0000 in JSON, say): the caller's input.
        return grpc.StatusCode.INVALID_ARGUMENT, f"a value could not be stored: {exc}"
    if not database_unavailable(exc):
        raise exc
    # The database is away: the caller may retry once it is back.
    log.warning("database unavailable", extra={"error": type(exc).__name__})
    return grpc.StatusCode.UNAVAILABLE, "database unavailable"


async def abort_for(exc: Exception, context: grpc.aio.ServicerContext) -> None:
    """Ends the call with the status of a domain or database error; re-raises anything else."""
    await context.abort(*status_for(exc))


def maps_errors(handler: Handler[Response]) -> Handler[Response]:
    """Turns domain and database errors raised by a handler into gRPC statuses."""

    @functools.wraps(handler)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Response:
        try:
            return await handler(self, request, context)
        except Exception as exc:
            await abort_for(exc, context)
        raise AssertionError("context.abort always raises")

    return wrapper


def item_status_for(exc: Exception) -> pb.ItemStatus:
    """One item's failure in a batch call: as `status_for`, and an unexpected error is that
    item's INTERNAL (logged) rather than every item's."""
    try:
        code, text = status_for(exc)
    except Exception:
        log.exception("a batch item failed")
        code, text = grpc.StatusCode.INTERNAL, "internal error"
    return pb.ItemStatus(code=code.value[0], message=text)
