from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.message import Message
from ...models.send_audio import SendAudio
from ...models.send_contacts import SendContacts
from ...models.send_document import SendDocument
from ...models.send_image import SendImage
from ...models.send_interactive import SendInteractive
from ...models.send_location import SendLocation
from ...models.send_reaction import SendReaction
from ...models.send_sticker import SendSticker
from ...models.send_template import SendTemplate
from ...models.send_text import SendText
from ...models.send_video import SendVideo
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: Any
    | SendAudio
    | SendContacts
    | SendDocument
    | SendImage
    | SendInteractive
    | SendLocation
    | SendReaction
    | SendSticker
    | SendTemplate
    | SendText
    | SendVideo,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/messages/send-async",
    }

    if isinstance(body, SendText):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendTemplate):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendImage):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendDocument):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendAudio):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendVideo):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendSticker):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendReaction):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendLocation):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendContacts):
        _kwargs["json"] = body.to_dict()
    elif isinstance(body, SendInteractive):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | Message | None:
    if response.status_code == 202:
        response_202 = Message.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = ApiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ApiError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ApiError.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ApiError.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ApiError.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ApiError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ApiError.from_dict(response.json())

        return response_429

    if response.status_code == 502:
        response_502 = ApiError.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ApiError.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiError | Message]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Any
    | SendAudio
    | SendContacts
    | SendDocument
    | SendImage
    | SendInteractive
    | SendLocation
    | SendReaction
    | SendSticker
    | SendTemplate
    | SendText
    | SendVideo,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiError | Message]:
    """Store a message as queued and answer at once; it is delivered in the background

    Args:
        idempotency_key (str | Unset):
        body (Any | SendAudio | SendContacts | SendDocument | SendImage | SendInteractive |
            SendLocation | SendReaction | SendSticker | SendTemplate | SendText | SendVideo): A
            message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give
            exactly one of conversation_id, or to (with an optional account_id, which must be the API
            key's) to open a conversation with a new contact. Unknown fields are ignored (but
            `template.components` is stored and sent to WhatsApp as given); strings holding U+0000 and
            template components nested deeper than 32 levels are refused, and so is content over 32
            KiB as JSON (422 content_too_large). Example: {'conversation_id': '3f0c9a52-...', 'type':
            'text', 'text': {'body': 'Hello!'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Message]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: Any
    | SendAudio
    | SendContacts
    | SendDocument
    | SendImage
    | SendInteractive
    | SendLocation
    | SendReaction
    | SendSticker
    | SendTemplate
    | SendText
    | SendVideo,
    idempotency_key: str | Unset = UNSET,
) -> ApiError | Message | None:
    """Store a message as queued and answer at once; it is delivered in the background

    Args:
        idempotency_key (str | Unset):
        body (Any | SendAudio | SendContacts | SendDocument | SendImage | SendInteractive |
            SendLocation | SendReaction | SendSticker | SendTemplate | SendText | SendVideo): A
            message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give
            exactly one of conversation_id, or to (with an optional account_id, which must be the API
            key's) to open a conversation with a new contact. Unknown fields are ignored (but
            `template.components` is stored and sent to WhatsApp as given); strings holding U+0000 and
            template components nested deeper than 32 levels are refused, and so is content over 32
            KiB as JSON (422 content_too_large). Example: {'conversation_id': '3f0c9a52-...', 'type':
            'text', 'text': {'body': 'Hello!'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Message
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: Any
    | SendAudio
    | SendContacts
    | SendDocument
    | SendImage
    | SendInteractive
    | SendLocation
    | SendReaction
    | SendSticker
    | SendTemplate
    | SendText
    | SendVideo,
    idempotency_key: str | Unset = UNSET,
) -> Response[ApiError | Message]:
    """Store a message as queued and answer at once; it is delivered in the background

    Args:
        idempotency_key (str | Unset):
        body (Any | SendAudio | SendContacts | SendDocument | SendImage | SendInteractive |
            SendLocation | SendReaction | SendSticker | SendTemplate | SendText | SendVideo): A
            message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give
            exactly one of conversation_id, or to (with an optional account_id, which must be the API
            key's) to open a conversation with a new contact. Unknown fields are ignored (but
            `template.components` is stored and sent to WhatsApp as given); strings holding U+0000 and
            template components nested deeper than 32 levels are refused, and so is content over 32
            KiB as JSON (422 content_too_large). Example: {'conversation_id': '3f0c9a52-...', 'type':
            'text', 'text': {'body': 'Hello!'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Message]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: Any
    | SendAudio
    | SendContacts
    | SendDocument
    | SendImage
    | SendInteractive
    | SendLocation
    | SendReaction
    | SendSticker
    | SendTemplate
    | SendText
    | SendVideo,
    idempotency_key: str | Unset = UNSET,
) -> ApiError | Message | None:
    """Store a message as queued and answer at once; it is delivered in the background

    Args:
        idempotency_key (str | Unset):
        body (Any | SendAudio | SendContacts | SendDocument | SendImage | SendInteractive |
            SendLocation | SendReaction | SendSticker | SendTemplate | SendText | SendVideo): A
            message in the WhatsApp Cloud API's shape: `type` and the object of that name. Give
            exactly one of conversation_id, or to (with an optional account_id, which must be the API
            key's) to open a conversation with a new contact. Unknown fields are ignored (but
            `template.components` is stored and sent to WhatsApp as given); strings holding U+0000 and
            template components nested deeper than 32 levels are refused, and so is content over 32
            KiB as JSON (422 content_too_large). Example: {'conversation_id': '3f0c9a52-...', 'type':
            'text', 'text': {'body': 'Hello!'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Message
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
