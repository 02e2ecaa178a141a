from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...types import UNSET, Response, Unset


def _get_kwargs(
    media_id: UUID,
    *,
    range_: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(range_, Unset):
        headers["Range"] = range_

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/media/{media_id}".format(
            media_id=quote(str(media_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ApiError | None:
    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 307:
        response_307 = cast(Any, None)
        return response_307

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

    if response.status_code == 410:
        response_410 = ApiError.from_dict(response.json())

        return response_410

    if response.status_code == 416:
        response_416 = ApiError.from_dict(response.json())

        return response_416

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
) -> Response[Any | ApiError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    media_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
) -> Response[Any | ApiError]:
    """A file's bytes

     One `Range: bytes=...` is answered 206 (several ranges: the whole file). With
    MEDIA_PRESIGNED_REDIRECT on and an S3 store: 307 to a short-lived URL.

    Args:
        media_id (UUID):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApiError]
    """

    kwargs = _get_kwargs(
        media_id=media_id,
        range_=range_,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    media_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
) -> Any | ApiError | None:
    """A file's bytes

     One `Range: bytes=...` is answered 206 (several ranges: the whole file). With
    MEDIA_PRESIGNED_REDIRECT on and an S3 store: 307 to a short-lived URL.

    Args:
        media_id (UUID):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApiError
    """

    return sync_detailed(
        media_id=media_id,
        client=client,
        range_=range_,
    ).parsed


async def asyncio_detailed(
    media_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
) -> Response[Any | ApiError]:
    """A file's bytes

     One `Range: bytes=...` is answered 206 (several ranges: the whole file). With
    MEDIA_PRESIGNED_REDIRECT on and an S3 store: 307 to a short-lived URL.

    Args:
        media_id (UUID):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ApiError]
    """

    kwargs = _get_kwargs(
        media_id=media_id,
        range_=range_,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    media_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    range_: str | Unset = UNSET,
) -> Any | ApiError | None:
    """A file's bytes

     One `Range: bytes=...` is answered 206 (several ranges: the whole file). With
    MEDIA_PRESIGNED_REDIRECT on and an S3 store: 307 to a short-lived URL.

    Args:
        media_id (UUID):
        range_ (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ApiError
    """

    return (
        await asyncio_detailed(
            media_id=media_id,
            client=client,
            range_=range_,
        )
    ).parsed
