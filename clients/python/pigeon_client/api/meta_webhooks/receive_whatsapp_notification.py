from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.receive_whatsapp_notification_body import ReceiveWhatsappNotificationBody
from ...models.receive_whatsapp_notification_response_200 import ReceiveWhatsappNotificationResponse200
from ...types import Response


def _get_kwargs(
    *,
    body: ReceiveWhatsappNotificationBody,
    x_hub_signature_256: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["X-Hub-Signature-256"] = x_hub_signature_256

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/webhooks/whatsapp",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | ReceiveWhatsappNotificationResponse200 | None:
    if response.status_code == 200:
        response_200 = ReceiveWhatsappNotificationResponse200.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ApiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiError.from_dict(response.json())

        return response_401

    if response.status_code == 413:
        response_413 = ApiError.from_dict(response.json())

        return response_413

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
) -> Response[ApiError | ReceiveWhatsappNotificationResponse200]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveWhatsappNotificationBody,
    x_hub_signature_256: str,
) -> Response[ApiError | ReceiveWhatsappNotificationResponse200]:
    """A WhatsApp notification (statuses, inbound messages), signed by Meta

    Args:
        x_hub_signature_256 (str):
        body (ReceiveWhatsappNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ReceiveWhatsappNotificationResponse200]
    """

    kwargs = _get_kwargs(
        body=body,
        x_hub_signature_256=x_hub_signature_256,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveWhatsappNotificationBody,
    x_hub_signature_256: str,
) -> ApiError | ReceiveWhatsappNotificationResponse200 | None:
    """A WhatsApp notification (statuses, inbound messages), signed by Meta

    Args:
        x_hub_signature_256 (str):
        body (ReceiveWhatsappNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ReceiveWhatsappNotificationResponse200
    """

    return sync_detailed(
        client=client,
        body=body,
        x_hub_signature_256=x_hub_signature_256,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveWhatsappNotificationBody,
    x_hub_signature_256: str,
) -> Response[ApiError | ReceiveWhatsappNotificationResponse200]:
    """A WhatsApp notification (statuses, inbound messages), signed by Meta

    Args:
        x_hub_signature_256 (str):
        body (ReceiveWhatsappNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ReceiveWhatsappNotificationResponse200]
    """

    kwargs = _get_kwargs(
        body=body,
        x_hub_signature_256=x_hub_signature_256,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveWhatsappNotificationBody,
    x_hub_signature_256: str,
) -> ApiError | ReceiveWhatsappNotificationResponse200 | None:
    """A WhatsApp notification (statuses, inbound messages), signed by Meta

    Args:
        x_hub_signature_256 (str):
        body (ReceiveWhatsappNotificationBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ReceiveWhatsappNotificationResponse200
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            x_hub_signature_256=x_hub_signature_256,
        )
    ).parsed
