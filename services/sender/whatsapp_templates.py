"""Message templates: a WhatsApp Business Account's listing, every page of it
(`GET /{waba_id}/message_templates`, Meta's "Template management"), on CloudApiClient's pooled
session. Pages are asked for with Meta's `after` cursor, never by following the answer's
`next` URL: the token goes only where this client sends it."""

from dataclasses import dataclass

import aiohttp
import orjson

from services.sender.whatsapp import (
    CloudApiClient,
    as_str,
    bad_response,
    call_failure,
    log_failure,
    parse_error,
    parse_json,
    read_at_most,
)
from services.shared.whatsapp_errors import Failure

PAGE_SIZE = 250
# A page of 250 templates with their components stays well under it.
MAX_PAGE_BYTES = 4 * 1024 * 1024
# Meta allows up to 6,000 templates per WABA; past this many pages the listing is cut short
# as a failure rather than read forever.
MAX_PAGES = 40
FIELDS = "id,name,language,status,category,parameter_format,components"


@dataclass(frozen=True, slots=True)
class ListedTemplate:
    id: str
    name: str
    language: str
    status: str
    category: str
    parameter_format: str
    components_json: bytes


def _template(item: object) -> ListedTemplate | None:
    if not isinstance(item, dict) or not item.get("name") or not item.get("language"):
        return None
    components = item.get("components")
    return ListedTemplate(
        id=str(item.get("id", "")),
        name=as_str(item["name"]),
        language=as_str(item["language"]),
        status=as_str(item.get("status")),
        category=as_str(item.get("category")),
        parameter_format=as_str(item.get("parameter_format")) or "POSITIONAL",
        components_json=orjson.dumps(components if isinstance(components, list) else []),
    )


async def list_templates(
    client: CloudApiClient, waba_id: str, access_token: str
) -> list[ListedTemplate] | Failure:
    """Every template of the WABA, or why they could not be listed. The token goes into the
    header only."""
    url = f"{client.api_root}/{waba_id}/message_templates"
    headers = {"Authorization": f"Bearer {access_token}"}
    templates: list[ListedTemplate] = []
    after = ""
    for _ in range(MAX_PAGES):
        params = {"fields": FIELDS, "limit": str(PAGE_SIZE)} | ({"after": after} if after else {})
        try:
            async with client.session.get(url, params=params, headers=headers) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
                answer = await read_at_most(response, MAX_PAGE_BYTES)
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            return _failed(waba_id, call_failure(client, exc))
        if answer is None:
            return _failed(waba_id, bad_response(status, b"", f"a page over {MAX_PAGE_BYTES} bytes"))
        if not 200 <= status < 300:
            return _failed(waba_id, parse_error(status, answer, retry_after))
        data = parse_json(status, answer)
        if isinstance(data, Failure):
            return _failed(waba_id, data)
        page = data.get("data")
        if not isinstance(page, list):
            return _failed(waba_id, bad_response(status, answer, "no data list"))
        templates.extend(t for t in map(_template, page) if t is not None)
        paging = data.get("paging")
        cursors = paging.get("cursors") if isinstance(paging, dict) else None
        after = as_str(cursors.get("after")) if isinstance(cursors, dict) else ""
        if not page or not after or not isinstance(paging, dict) or "next" not in paging:
            return templates
    return _failed(waba_id, bad_response(200, b"", f"more than {MAX_PAGES} pages of templates"))


def _failed(waba_id: str, failure: Failure) -> Failure:
    log_failure(waba_id, failure, "whatsapp template listing failed")
    return failure
