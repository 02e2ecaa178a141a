from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.list_templates_category import ListTemplatesCategory
from ...models.list_templates_response_200 import ListTemplatesResponse200
from ...models.list_templates_status import ListTemplatesStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
    status: ListTemplatesStatus | Unset = UNSET,
    category: ListTemplatesCategory | Unset = UNSET,
    name: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page_size"] = page_size

    params["page_token"] = page_token

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    json_category: str | Unset = UNSET
    if not isinstance(category, Unset):
        json_category = category

    params["category"] = json_category

    params["name"] = name

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/templates",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | ListTemplatesResponse200 | None:
    if response.status_code == 200:
        response_200 = ListTemplatesResponse200.from_dict(response.json())

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
) -> Response[ApiError | ListTemplatesResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
    status: ListTemplatesStatus | Unset = UNSET,
    category: ListTemplatesCategory | Unset = UNSET,
    name: str | Unset = UNSET,
) -> Response[ApiError | ListTemplatesResponse200]:
    """The account's message templates, by name and language

     Listed from WhatsApp at start, every TEMPLATE_SYNC_EVERY_SECONDS and at once on a status-update
    webhook. Template sends are checked against them before any WhatsApp call (422).

    Args:
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):
        status (ListTemplatesStatus | Unset):
        category (ListTemplatesCategory | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListTemplatesResponse200]
    """

    kwargs = _get_kwargs(
        page_size=page_size,
        page_token=page_token,
        status=status,
        category=category,
        name=name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
    status: ListTemplatesStatus | Unset = UNSET,
    category: ListTemplatesCategory | Unset = UNSET,
    name: str | Unset = UNSET,
) -> ApiError | ListTemplatesResponse200 | None:
    """The account's message templates, by name and language

     Listed from WhatsApp at start, every TEMPLATE_SYNC_EVERY_SECONDS and at once on a status-update
    webhook. Template sends are checked against them before any WhatsApp call (422).

    Args:
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):
        status (ListTemplatesStatus | Unset):
        category (ListTemplatesCategory | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListTemplatesResponse200
    """

    return sync_detailed(
        client=client,
        page_size=page_size,
        page_token=page_token,
        status=status,
        category=category,
        name=name,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
    status: ListTemplatesStatus | Unset = UNSET,
    category: ListTemplatesCategory | Unset = UNSET,
    name: str | Unset = UNSET,
) -> Response[ApiError | ListTemplatesResponse200]:
    """The account's message templates, by name and language

     Listed from WhatsApp at start, every TEMPLATE_SYNC_EVERY_SECONDS and at once on a status-update
    webhook. Template sends are checked against them before any WhatsApp call (422).

    Args:
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):
        status (ListTemplatesStatus | Unset):
        category (ListTemplatesCategory | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListTemplatesResponse200]
    """

    kwargs = _get_kwargs(
        page_size=page_size,
        page_token=page_token,
        status=status,
        category=category,
        name=name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
    status: ListTemplatesStatus | Unset = UNSET,
    category: ListTemplatesCategory | Unset = UNSET,
    name: str | Unset = UNSET,
) -> ApiError | ListTemplatesResponse200 | None:
    """The account's message templates, by name and language

     Listed from WhatsApp at start, every TEMPLATE_SYNC_EVERY_SECONDS and at once on a status-update
    webhook. Template sends are checked against them before any WhatsApp call (422).

    Args:
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):
        status (ListTemplatesStatus | Unset):
        category (ListTemplatesCategory | Unset):
        name (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListTemplatesResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            page_size=page_size,
            page_token=page_token,
            status=status,
            category=category,
            name=name,
        )
    ).parsed
