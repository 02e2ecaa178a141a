"""Message templates over HTTP: `GET /templates` lists the account's templates as WhatsApp last
listed them (conversations keeps them, and checks template sends against them);
`POST /templates/sync` has them listed again soon."""

from aiohttp import web
from pigeon.conversations.v1 import templates_pb2 as pb

from services.gateway.context import ACCOUNT_ID, CLIENTS
from services.gateway.fields import invalid
from services.gateway.handlers import ask_conversations, json_response, page_params
from services.gateway.resources import template_json, time_json

routes = web.RouteTableDef()

# A template name as WhatsApp allows it (lowercase, digits, underscores), within its length.
MAX_NAME_CHARACTERS = 512


@routes.get("/templates")
async def list_templates(request: web.Request) -> web.Response:
    page_size, page_token = page_params(request)
    name = request.query.get("name", "")
    if len(name) > MAX_NAME_CHARACTERS or "\x00" in name:
        raise invalid(f"name must be a template name of at most {MAX_NAME_CHARACTERS} characters", "name")
    page = await ask_conversations(
        request,
        request.app[CLIENTS].templates.ListTemplates,
        pb.ListTemplatesRequest(
            account_id=request[ACCOUNT_ID],
            page_size=page_size,
            page_token=page_token,
            status=request.query.get("status", ""),
            category=request.query.get("category", ""),
            name=name,
        ),
    )
    return json_response(
        {
            "templates": [template_json(t) for t in page.templates],
            "next_page_token": page.next_page_token or None,
            "synced_at": time_json(page, "synced_at"),
            "sync_failure": page.sync_failure or None,
        }
    )


@routes.post("/templates/sync")
async def sync_templates(request: web.Request) -> web.Response:
    await ask_conversations(
        request,
        request.app[CLIENTS].templates.SyncTemplates,
        pb.SyncTemplatesRequest(account_id=request[ACCOUNT_ID]),
    )
    return json_response({"status": "scheduled"}, 202)
