import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.list_conversations_can_send_free_form import (
    ListConversationsCanSendFreeForm,
)
from ...models.list_conversations_response_200 import ListConversationsResponse200
from ...models.list_conversations_status import ListConversationsStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    can_send_free_form: ListConversationsCanSendFreeForm | Unset = UNSET,
    window_expires_after: datetime.datetime | Unset = UNSET,
    window_expires_before: datetime.datetime | Unset = UNSET,
    status: ListConversationsStatus | Unset = UNSET,
    assignee: str | Unset = UNSET,
    unassigned: bool | Unset = UNSET,
    label: str | Unset = UNSET,
    unread: bool | Unset = UNSET,
    q: str | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_can_send_free_form: str | Unset = UNSET
    if not isinstance(can_send_free_form, Unset):
        json_can_send_free_form = can_send_free_form

    params["can_send_free_form"] = json_can_send_free_form

    json_window_expires_after: str | Unset = UNSET
    if not isinstance(window_expires_after, Unset):
        json_window_expires_after = window_expires_after.isoformat()
    params["window_expires_after"] = json_window_expires_after

    json_window_expires_before: str | Unset = UNSET
    if not isinstance(window_expires_before, Unset):
        json_window_expires_before = window_expires_before.isoformat()
    params["window_expires_before"] = json_window_expires_before

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status

    params["status"] = json_status

    params["assignee"] = assignee

    params["unassigned"] = unassigned

    params["label"] = label

    params["unread"] = unread

    params["q"] = q

    params["page_size"] = page_size

    params["page_token"] = page_token

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/conversations",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | ListConversationsResponse200 | None:
    if response.status_code == 200:
        response_200 = ListConversationsResponse200.from_dict(response.json())

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
) -> Response[ApiError | ListConversationsResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    can_send_free_form: ListConversationsCanSendFreeForm | Unset = UNSET,
    window_expires_after: datetime.datetime | Unset = UNSET,
    window_expires_before: datetime.datetime | Unset = UNSET,
    status: ListConversationsStatus | Unset = UNSET,
    assignee: str | Unset = UNSET,
    unassigned: bool | Unset = UNSET,
    label: str | Unset = UNSET,
    unread: bool | Unset = UNSET,
    q: str | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | ListConversationsResponse200]:
    """Conversations, most recent activity first

     Filters on the 24 h customer service window keep the conversations whose `window_expires_at` is in
    [`window_expires_after`, `window_expires_before`) and, with `can_send_free_form`, whose window is
    open (true) or closed (false) now, each page as it is read. A conversation whose customer never
    wrote has no window and counts as closed long ago: `window_expires_before` and
    `can_send_free_form=false` keep it, `window_expires_after` never does.

    Args:
        can_send_free_form (ListConversationsCanSendFreeForm | Unset):
        window_expires_after (datetime.datetime | Unset):
        window_expires_before (datetime.datetime | Unset):
        status (ListConversationsStatus | Unset):
        assignee (str | Unset):
        unassigned (bool | Unset):
        label (str | Unset):
        unread (bool | Unset):
        q (str | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListConversationsResponse200]
    """

    kwargs = _get_kwargs(
        can_send_free_form=can_send_free_form,
        window_expires_after=window_expires_after,
        window_expires_before=window_expires_before,
        status=status,
        assignee=assignee,
        unassigned=unassigned,
        label=label,
        unread=unread,
        q=q,
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
    can_send_free_form: ListConversationsCanSendFreeForm | Unset = UNSET,
    window_expires_after: datetime.datetime | Unset = UNSET,
    window_expires_before: datetime.datetime | Unset = UNSET,
    status: ListConversationsStatus | Unset = UNSET,
    assignee: str | Unset = UNSET,
    unassigned: bool | Unset = UNSET,
    label: str | Unset = UNSET,
    unread: bool | Unset = UNSET,
    q: str | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | ListConversationsResponse200 | None:
    """Conversations, most recent activity first

     Filters on the 24 h customer service window keep the conversations whose `window_expires_at` is in
    [`window_expires_after`, `window_expires_before`) and, with `can_send_free_form`, whose window is
    open (true) or closed (false) now, each page as it is read. A conversation whose customer never
    wrote has no window and counts as closed long ago: `window_expires_before` and
    `can_send_free_form=false` keep it, `window_expires_after` never does.

    Args:
        can_send_free_form (ListConversationsCanSendFreeForm | Unset):
        window_expires_after (datetime.datetime | Unset):
        window_expires_before (datetime.datetime | Unset):
        status (ListConversationsStatus | Unset):
        assignee (str | Unset):
        unassigned (bool | Unset):
        label (str | Unset):
        unread (bool | Unset):
        q (str | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListConversationsResponse200
    """

    return sync_detailed(
        client=client,
        can_send_free_form=can_send_free_form,
        window_expires_after=window_expires_after,
        window_expires_before=window_expires_before,
        status=status,
        assignee=assignee,
        unassigned=unassigned,
        label=label,
        unread=unread,
        q=q,
        page_size=page_size,
        page_token=page_token,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    can_send_free_form: ListConversationsCanSendFreeForm | Unset = UNSET,
    window_expires_after: datetime.datetime | Unset = UNSET,
    window_expires_before: datetime.datetime | Unset = UNSET,
    status: ListConversationsStatus | Unset = UNSET,
    assignee: str | Unset = UNSET,
    unassigned: bool | Unset = UNSET,
    label: str | Unset = UNSET,
    unread: bool | Unset = UNSET,
    q: str | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> Response[ApiError | ListConversationsResponse200]:
    """Conversations, most recent activity first

     Filters on the 24 h customer service window keep the conversations whose `window_expires_at` is in
    [`window_expires_after`, `window_expires_before`) and, with `can_send_free_form`, whose window is
    open (true) or closed (false) now, each page as it is read. A conversation whose customer never
    wrote has no window and counts as closed long ago: `window_expires_before` and
    `can_send_free_form=false` keep it, `window_expires_after` never does.

    Args:
        can_send_free_form (ListConversationsCanSendFreeForm | Unset):
        window_expires_after (datetime.datetime | Unset):
        window_expires_before (datetime.datetime | Unset):
        status (ListConversationsStatus | Unset):
        assignee (str | Unset):
        unassigned (bool | Unset):
        label (str | Unset):
        unread (bool | Unset):
        q (str | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ListConversationsResponse200]
    """

    kwargs = _get_kwargs(
        can_send_free_form=can_send_free_form,
        window_expires_after=window_expires_after,
        window_expires_before=window_expires_before,
        status=status,
        assignee=assignee,
        unassigned=unassigned,
        label=label,
        unread=unread,
        q=q,
        page_size=page_size,
        page_token=page_token,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    can_send_free_form: ListConversationsCanSendFreeForm | Unset = UNSET,
    window_expires_after: datetime.datetime | Unset = UNSET,
    window_expires_before: datetime.datetime | Unset = UNSET,
    status: ListConversationsStatus | Unset = UNSET,
    assignee: str | Unset = UNSET,
    unassigned: bool | Unset = UNSET,
    label: str | Unset = UNSET,
    unread: bool | Unset = UNSET,
    q: str | Unset = UNSET,
    page_size: int | Unset = 20,
    page_token: str | Unset = UNSET,
) -> ApiError | ListConversationsResponse200 | None:
    """Conversations, most recent activity first

     Filters on the 24 h customer service window keep the conversations whose `window_expires_at` is in
    [`window_expires_after`, `window_expires_before`) and, with `can_send_free_form`, whose window is
    open (true) or closed (false) now, each page as it is read. A conversation whose customer never
    wrote has no window and counts as closed long ago: `window_expires_before` and
    `can_send_free_form=false` keep it, `window_expires_after` never does.

    Args:
        can_send_free_form (ListConversationsCanSendFreeForm | Unset):
        window_expires_after (datetime.datetime | Unset):
        window_expires_before (datetime.datetime | Unset):
        status (ListConversationsStatus | Unset):
        assignee (str | Unset):
        unassigned (bool | Unset):
        label (str | Unset):
        unread (bool | Unset):
        q (str | Unset):
        page_size (int | Unset):  Default: 20.
        page_token (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ListConversationsResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            can_send_free_form=can_send_free_form,
            window_expires_after=window_expires_after,
            window_expires_before=window_expires_before,
            status=status,
            assignee=assignee,
            unassigned=unassigned,
            label=label,
            unread=unread,
            q=q,
            page_size=page_size,
            page_token=page_token,
        )
    ).parsed
