import datetime
from http import HTTPStatus
from typing import Any
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.search_messages_response_200 import SearchMessagesResponse200
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    q: str,
    conversation_id: UUID | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["q"] = q

    json_conversation_id: str | Unset = UNSET
    if not isinstance(conversation_id, Unset):
        json_conversation_id = str(conversation_id)
    params["conversation_id"] = json_conversation_id

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["page_size"] = page_size

    params["page_token"] = page_token

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/messages/search",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | SearchMessagesResponse200 | None:
    if response.status_code == 200:
        response_200 = SearchMessagesResponse200.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ApiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ApiError.from_dict(response.json())

        return response_403

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
) -> Response[ApiError | SearchMessagesResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    q: str,
    conversation_id: UUID | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | SearchMessagesResponse200]:
    """Full-text search of the account's messages, newest first

    Args:
        q (str):
        conversation_id (UUID | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | SearchMessagesResponse200]
    """

    kwargs = _get_kwargs(
        q=q,
        conversation_id=conversation_id,
        since=since,
        until=until,
        page_size=page_size,
        page_token=page_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    q: str,
    conversation_id: UUID | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | SearchMessagesResponse200 | None:
    """Full-text search of the account's messages, newest first

    Args:
        q (str):
        conversation_id (UUID | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | SearchMessagesResponse200
    """

    return sync_detailed(
        client=client,
        q=q,
        conversation_id=conversation_id,
        since=since,
        until=until,
        page_size=page_size,
        page_token=page_token,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    q: str,
    conversation_id: UUID | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | SearchMessagesResponse200]:
    """Full-text search of the account's messages, newest first

    Args:
        q (str):
        conversation_id (UUID | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | SearchMessagesResponse200]
    """

    kwargs = _get_kwargs(
        q=q,
        conversation_id=conversation_id,
        since=since,
        until=until,
        page_size=page_size,
        page_token=page_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    q: str,
    conversation_id: UUID | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | SearchMessagesResponse200 | None:
    """Full-text search of the account's messages, newest first

    Args:
        q (str):
        conversation_id (UUID | Unset):
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | SearchMessagesResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            q=q,
            conversation_id=conversation_id,
            since=since,
            until=until,
            page_size=page_size,
            page_token=page_token,
        )
    ).parsed
