from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.list_conversation_messages_response_200 import ListConversationMessagesResponse200
from ...types import UNSET, Response, Unset


def _get_kwargs(
    conversation_id: UUID,
    *,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page_size"] = page_size

    params["page_token"] = page_token

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/conversations/{conversation_id}/messages".format(
            conversation_id=quote(str(conversation_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | ListConversationMessagesResponse200 | None:
    if response.status_code == 200:
        response_200 = ListConversationMessagesResponse200.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = ApiError.from_dict(response.json())

        return response_404

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
) -> Response[ApiError | ListConversationMessagesResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    conversation_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | ListConversationMessagesResponse200]:
    """Messages of a conversation, newest first

    Args:
        conversation_id (UUID):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListConversationMessagesResponse200]
    """

    kwargs = _get_kwargs(
        conversation_id=conversation_id,
        page_size=page_size,
        page_token=page_token,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    conversation_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | ListConversationMessagesResponse200 | None:
    """Messages of a conversation, newest first

    Args:
        conversation_id (UUID):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListConversationMessagesResponse200
    """

    return sync_detailed(
        conversation_id=conversation_id,
        client=client,
        page_size=page_size,
        page_token=page_token,
    ).parsed


async def asyncio_detailed(
    conversation_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | ListConversationMessagesResponse200]:
    """Messages of a conversation, newest first

    Args:
        conversation_id (UUID):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListConversationMessagesResponse200]
    """

    kwargs = _get_kwargs(
        conversation_id=conversation_id,
        page_size=page_size,
        page_token=page_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    conversation_id: UUID,
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | ListConversationMessagesResponse200 | None:
    """Messages of a conversation, newest first

    Args:
        conversation_id (UUID):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListConversationMessagesResponse200
    """

    return (
        await asyncio_detailed(
            conversation_id=conversation_id,
            client=client,
            page_size=page_size,
            page_token=page_token,
        )
    ).parsed
