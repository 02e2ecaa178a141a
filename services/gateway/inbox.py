"""The team inbox over HTTP: `PATCH /conversations/{id}` (status, snooze, assignee), labels
(`PUT` / `DELETE /conversations/{id}/labels/{label}`) and internal notes
(`POST` / `GET /conversations/{id}/notes`, never sent to WhatsApp). A change answers the
conversation with its version as ETag; `If-Match` with an older one answers 412."""

from collections.abc import Awaitable, Callable

from aiohttp import web
from pigeon.conversations.v1 import conversations_pb2 as pb

from services.gateway.context import ACCOUNT_ID, CLIENTS
from services.gateway.handlers import ask_conversations, json_response, page_params
from services.gateway.list_params import etag, parse_if_match, parse_inbox_patch, parse_label, parse_note
from services.gateway.resources import conversation_json, note_json
from services.shared.timestamps import timestamp

routes = web.RouteTableDef()


def conversation_response(conversation: pb.Conversation) -> web.Response:
    return json_response(conversation_json(conversation), headers={"ETag": etag(conversation.version)})


@routes.patch("/conversations/{conversation_id}")
async def update_conversation(request: web.Request) -> web.Response:
    expected = parse_if_match(request.headers.get("If-Match"))
    patch = parse_inbox_patch(await request.read())
    conversation = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.UpdateConversation,
        pb.UpdateConversationRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            expected_version=expected,
            status=patch.status,
            snoozed_until=timestamp(patch.snoozed_until),
            assignee=patch.assignee,
        ),
    )
    return conversation_response(conversation)


@routes.put("/conversations/{conversation_id}/labels/{label}")
async def add_label(request: web.Request) -> web.Response:
    return await _label(request, request.app[CLIENTS].conversations.AddConversationLabel)


@routes.delete("/conversations/{conversation_id}/labels/{label}")
async def remove_label(request: web.Request) -> web.Response:
    return await _label(request, request.app[CLIENTS].conversations.RemoveConversationLabel)


async def _label(request: web.Request, rpc: Callable[..., Awaitable[pb.Conversation]]) -> web.Response:
    expected = parse_if_match(request.headers.get("If-Match"))
    label = parse_label(request.match_info["label"])
    conversation = await ask_conversations(
        request,
        rpc,
        pb.ConversationLabelRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            label=label,
            expected_version=expected,
        ),
    )
    return conversation_response(conversation)


@routes.post("/conversations/{conversation_id}/notes")
async def add_note(request: web.Request) -> web.Response:
    body, author = parse_note(await request.read())
    note = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.AddConversationNote,
        pb.AddConversationNoteRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            author=author,
            body=body,
        ),
    )
    return json_response(note_json(note), status=201)


@routes.get("/conversations/{conversation_id}/notes")
async def list_notes(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    page = await ask_conversations(
        request,
        request.app[CLIENTS].conversations.ListConversationNotes,
        pb.ListConversationNotesRequest(
            account_id=request[ACCOUNT_ID],
            conversation_id=request.match_info["conversation_id"],
            page_size=page_size,
            page_token=page_token,
        ),
    )
    return json_response(
        {"notes": [note_json(n) for n in page.notes], "next_page_token": page.next_page_token or None}
    )
