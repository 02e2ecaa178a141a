"""Read receipts: a customer's message marked read on WhatsApp (blue ticks, for the earlier
messages too), with the typing indicator when asked (Meta's "Typing indicators": the same
call; it shows until the business answers, or 25 s). On CloudApiClient's pooled session."""

import aiohttp
import orjson

from services.sender.whatsapp import (
    MAX_ANSWER_BYTES,
    CloudApiClient,
    bad_response,
    call_failure,
    log_failure,
    parse_error,
    parse_json,
    read_at_most,
)
from services.shared.whatsapp_errors import Failure


async def mark_read(
    client: CloudApiClient, phone_number_id: str, access_token: str, message_id: str, typing: bool
) -> Failure | None:
    """None once WhatsApp took it, else why not. The token goes into the header only."""
    body: dict[str, object] = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
    if typing:
        body["typing_indicator"] = {"type": "text"}
    url = f"{client.api_root}/{phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {access_token}"}
    failure: Failure
    try:
        async with client.session.post(url, data=orjson.dumps(body), headers=headers) as response:
            status, retry_after = response.status, response.headers.get("Retry-After")
            answer = await read_at_most(response, MAX_ANSWER_BYTES)
    except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
        failure = call_failure(client, exc)
    else:
        if answer is None:
            failure = bad_response(status, b"", f"answer over {MAX_ANSWER_BYTES} bytes")
        elif not 200 <= status < 300:
            failure = parse_error(status, answer, retry_after)
        else:
            data = parse_json(status, answer)
            if not isinstance(data, Failure) and data.get("success") is True:
                return None
            failure = data if isinstance(data, Failure) else bad_response(status, answer, "no success: true")
    log_failure(phone_number_id, failure, "whatsapp read receipt failed")
    return failure
