"""HTTP handlers: parse and validate, call the services, shape the JSON answer."""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import orjson
from aiohttp import web
from pigeon.conversations.v1 import conversations_pb2 as conversations_pb
from pigeon.messages.v1 import content_pb2
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.context import ACCOUNT_ID, CLIENTS, OPENAPI, REQUEST_ID, grpc_metadata
from services.gateway.errors import (
    ApiError,
    from_grpc,
    from_item_status,
    from_stored_failure,
    from_whatsapp_failure,
)
from services.gateway.list_params import etag, parse_inbox_filter, parse_message_search, parse_window_filter
from services.gateway.resources import conversation_json, message_json
from services.gateway.validation import parse_idempotency_key, parse_page_size, parse_read, parse_send
from services.shared.timestamps import timestamp

routes = web.RouteTableDef()
T = TypeVar("T")


async def ask_conversations(
    request: web.Request, rpc: Callable[..., Awaitable[T]], message: Any, deadline: float | None = None
) -> T:
    """One call to the conversations service (given `deadline` seconds, else the RPC timeout),
    its failure mapped to an HTTP error."""
    clients = request.app[CLIENTS]
    try:
        return await rpc(message, timeout=deadline or clients.rpc_timeout, metadata=grpc_metadata(request))
    except grpc.aio.AioRpcError as exc:
        raise from_grpc(exc, "conversations") from None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def page_params(request: web.Request) -> tuple[int, str]:
    return parse_page_size(request.query.get("page_size", "")), request.query.get("page_token", "")


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    dependencies = await request.app[CLIENTS].ready()
    ready = all(dependencies.values())
    body = {"status": "ready" if ready else "unavailable", "dependencies": dependencies}
    return json_response(body, 200 if ready else 503)


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    response = web.Response(body=generate_latest())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


@routes.get("/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


async def outbound_request(request: web.Request, route: str, *, queue: bool) -> Any:
    """Validates a send request into what conversations stores."""
    command = parse_send(await request.read())
    idempotency_key = parse_idempotency_key(request.headers.get("Idempotency-Key"))
    account_id = request[ACCOUNT_ID]
    if command.account_id and command.account_id != account_id:
        raise ApiError(404, "not_found", f"account {command.account_id} not found")
    content = content_pb2.Content(
        type=command.type, body_json=command.body_json, reply_to_wa_message_id=command.reply_to
    )
    return conversations_pb.CreateOutboundMessageRequest(
        account_id=account_id,
        conversation_id=command.conversation_id,
        to=command.to,
        content=content,
        queue=queue,
        idempotency_key=idempotency_key,
        request_hash=command.fingerprint(route) if idempotency_key else b"",
    )


def server_timing(result: conversations_pb.SendNowResponse) -> dict[str, str]:
    """Where a send's time went, so a client sees at once whether WhatsApp or pigeon was
    slow: lookup = validate and store, whatsapp = the Cloud API call through the sender,
    persist = recording the outcome (milliseconds, measured by conversations)."""
    return {
        "Server-Timing": f"lookup;dur={result.store_ms:.2f}, whatsapp;dur={result.whatsapp_ms:.2f}, "
        f"persist;dur={result.record_ms:.2f}"
    }


# A send whose outcome is not known yet (another request with its key is still at it).
IN_PROGRESS = (conversations_pb.MESSAGE_STATUS_QUEUED, conversations_pb.MESSAGE_STATUS_SENDING)


def replayed_send(message: conversations_pb.Message) -> web.Response:
    """What the original request answered, from its message as it is now; WhatsApp is not
    called again: the same error for a failure, 200 once sent, 409 while still in flight."""
    headers = {"Idempotent-Replayed": "true"}
    if message.status == conversations_pb.MESSAGE_STATUS_FAILED:
        error = from_stored_failure(message)
        error.headers = headers
        raise error
    if message.status in IN_PROGRESS:
        raise ApiError(
            409,
            "send_in_progress",
            "the original request with this Idempotency-Key is still being sent: retry later with "
            "the same key, or read GET /messages/{id}",
            {"message_id": message.id},
            headers,
        )
    return json_response(message_json(message), headers=headers)


@routes.post("/messages/send")
async def send_message(request: web.Request) -> web.Response:
    """Stores the message, sends it to WhatsApp, records the outcome (one call to
    conversations, which holds the WhatsApp call), answers with it."""
    wanted = await outbound_request(request, "send", queue=False)
    result = await request.app[CLIENTS].send_now.send(
        conversations_pb.SendNowRequest(message=wanted), request[REQUEST_ID]
    )
    message = result.message
    if result.replayed:
        return replayed_send(message)
    if result.HasField("failure"):
        raise from_whatsapp_failure(result.failure, message.id, server_timing(result))
    if message.status == conversations_pb.MESSAGE_STATUS_FAILED:
        # Refused before any WhatsApp call (the 24 h window): the stored code says why.
        raise from_stored_failure(message)
    return json_response(message_json(message), headers=server_timing(result))


@routes.post("/messages/send-async")
async def send_message_async(request: web.Request) -> web.Response:
    """Commits the message as queued and answers at once; the outbox delivers it."""
    wanted = await outbound_request(request, "send-async", queue=True)
    result = await request.app[CLIENTS].queued_sends.create(wanted, request[REQUEST_ID])
    if result.HasField("error"):
        raise from_item_status(result.error, "conversations")
    created = result.created
    message = created.message
    headers = {"Location": f"/messages/{message.id}"}
    if created.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(message_json(message), status=202, headers=headers)


# Before /messages/{message_id}, whose pattern "search" would match too.
@routes.get("/messages/search")
async def search_messages(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    search = parse_message_search(request.query)
    page = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.SearchMessages,
        conversations_pb.SearchMessagesRequest(
            account_id=request[ACCOUNT_ID],
            q=search.q,
            page_size=page_size,
            page_token=page_token,
            conversation_id=search.conversation_id,
            since=timestamp(search.since),
            until=timestamp(search.until),
        ),
    )
    messages = [message_json(m) for m in page.messages]
    return json_response({"messages": messages, "next_page_token": page.next_page_token or None})


@routes.get("/messages/{message_id}")
async def get_message(request: web.Request) -> web.Response:
    message = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.GetMessage,
        conversations_pb.GetMessageRequest(
            account_id=request[ACCOUNT_ID], message_id=request.match_info["message_id"]
        ),
    )
    return json_response(message_json(message))


@routes.get("/conversations")
async def list_conversations(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    window = parse_window_filter(request.query)
    inbox = parse_inbox_filter(request.query)
    page = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.ListConversations,
        conversations_pb.ListConversationsRequest(
            account_id=request[ACCOUNT_ID],
            page_size=page_size,
            page_token=page_token,
            can_send_free_form=window.can_send_free_form,
            window_expires_after=timestamp(window.window_expires_after),
            window_expires_before=timestamp(window.window_expires_before),
            status=inbox.status,
            assignee=inbox.assignee,
            label=inbox.label,
            unread=inbox.unread,
            q=inbox.q,
        ),
    )
    conversations = [conversation_json(c) for c in page.conversations]
    return json_response({"conversations": conversations, "next_page_token": page.next_page_token or None})


@routes.get("/conversations/{conversation_id}")
async def get_conversation(request: web.Request) -> web.Response:
    conversation = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.GetConversation,
        conversations_pb.GetConversationRequest(
            account_id=request[ACCOUNT_ID], conversation_id=request.match_info["conversation_id"]
        ),
    )
    return json_response(conversation_json(conversation), headers={"ETag": etag(conversation.version)})


@routes.get("/conversations/{conversation_id}/messages")
async def list_messages(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    page = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.ListMessages,
        conversations_pb.ListMessagesRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            page_size=page_size,
            page_token=page_token,
        ),
    )
    messages = [message_json(m) for m in page.messages]
    return json_response({"messages": messages, "next_page_token": page.next_page_token or None})


@routes.post("/conversations/{conversation_id}/read")
async def mark_conversation_read(request: web.Request) -> web.Response:
    """Read in pigeon, then on WhatsApp (a WhatsApp call: the send deadline applies)."""
    typing = parse_read(await request.read())
    clients = request.app[CLIENTS]
    conversation = await ask_conversations(
        request,
        clients.conversations.MarkConversationRead,
        conversations_pb.MarkConversationReadRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            typing=typing,
        ),
        clients.send_timeout,
    )
    return json_response(conversation_json(conversation))
