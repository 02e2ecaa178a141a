from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.media import Media
from ...models.upload_media_body import UploadMediaBody
from ...types import Response


def _get_kwargs(
    *,
    body: UploadMediaBody,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/media",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | Media | None:
    if response.status_code == 201:
        response_201 = Media.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ApiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ApiError.from_dict(response.json())

        return response_403

    if response.status_code == 408:
        response_408 = ApiError.from_dict(response.json())

        return response_408

    if response.status_code == 413:
        response_413 = ApiError.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ApiError.from_dict(response.json())

        return response_415

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
) -> Response[ApiError | Media]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: UploadMediaBody,
) -> Response[ApiError | Media]:
    """Upload a file for sends (multipart/form-data)

     The `file` part's Content-Type is its MIME type; a `filename` field before it overrides the part's
    file name. WhatsApp takes, by message type: audio: audio/aac, audio/amr, audio/mp4, audio/mpeg,
    audio/ogg (at most 16,000,000 bytes); document: application/msword, application/pdf,
    application/vnd.ms-excel, application/vnd.ms-powerpoint, application/vnd.openxmlformats-
    officedocument.presentationml.presentation, application/vnd.openxmlformats-
    officedocument.spreadsheetml.sheet, application/vnd.openxmlformats-
    officedocument.wordprocessingml.document, text/plain (at most 100,000,000 bytes); image: image/jpeg,
    image/png (at most 5,000,000 bytes); sticker: image/webp (at most 500,000 bytes); video: video/3gp,
    video/3gpp, video/mp4 (at most 16,000,000 bytes). Nothing is kept unless the whole file arrives and
    passes.

    Args:
        body (UploadMediaBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Media]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: UploadMediaBody,
) -> ApiError | Media | None:
    """Upload a file for sends (multipart/form-data)

     The `file` part's Content-Type is its MIME type; a `filename` field before it overrides the part's
    file name. WhatsApp takes, by message type: audio: audio/aac, audio/amr, audio/mp4, audio/mpeg,
    audio/ogg (at most 16,000,000 bytes); document: application/msword, application/pdf,
    application/vnd.ms-excel, application/vnd.ms-powerpoint, application/vnd.openxmlformats-
    officedocument.presentationml.presentation, application/vnd.openxmlformats-
    officedocument.spreadsheetml.sheet, application/vnd.openxmlformats-
    officedocument.wordprocessingml.document, text/plain (at most 100,000,000 bytes); image: image/jpeg,
    image/png (at most 5,000,000 bytes); sticker: image/webp (at most 500,000 bytes); video: video/3gp,
    video/3gpp, video/mp4 (at most 16,000,000 bytes). Nothing is kept unless the whole file arrives and
    passes.

    Args:
        body (UploadMediaBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Media
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: UploadMediaBody,
) -> Response[ApiError | Media]:
    """Upload a file for sends (multipart/form-data)

     The `file` part's Content-Type is its MIME type; a `filename` field before it overrides the part's
    file name. WhatsApp takes, by message type: audio: audio/aac, audio/amr, audio/mp4, audio/mpeg,
    audio/ogg (at most 16,000,000 bytes); document: application/msword, application/pdf,
    application/vnd.ms-excel, application/vnd.ms-powerpoint, application/vnd.openxmlformats-
    officedocument.presentationml.presentation, application/vnd.openxmlformats-
    officedocument.spreadsheetml.sheet, application/vnd.openxmlformats-
    officedocument.wordprocessingml.document, text/plain (at most 100,000,000 bytes); image: image/jpeg,
    image/png (at most 5,000,000 bytes); sticker: image/webp (at most 500,000 bytes); video: video/3gp,
    video/3gpp, video/mp4 (at most 16,000,000 bytes). Nothing is kept unless the whole file arrives and
    passes.

    Args:
        body (UploadMediaBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Media]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: UploadMediaBody,
) -> ApiError | Media | None:
    """Upload a file for sends (multipart/form-data)

     The `file` part's Content-Type is its MIME type; a `filename` field before it overrides the part's
    file name. WhatsApp takes, by message type: audio: audio/aac, audio/amr, audio/mp4, audio/mpeg,
    audio/ogg (at most 16,000,000 bytes); document: application/msword, application/pdf,
    application/vnd.ms-excel, application/vnd.ms-powerpoint, application/vnd.openxmlformats-
    officedocument.presentationml.presentation, application/vnd.openxmlformats-
    officedocument.spreadsheetml.sheet, application/vnd.openxmlformats-
    officedocument.wordprocessingml.document, text/plain (at most 100,000,000 bytes); image: image/jpeg,
    image/png (at most 5,000,000 bytes); sticker: image/webp (at most 500,000 bytes); video: video/3gp,
    video/3gpp, video/mp4 (at most 16,000,000 bytes). Nothing is kept unless the whole file arrives and
    passes.

    Args:
        body (UploadMediaBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Media
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
