"""Whose webhook it is: the peer, or behind a trusted proxy the nearest untrusted hop."""

from unittest.mock import Mock

from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.gateway.settings import parse_networks
from services.gateway.webhooks import client_address

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.7")


def request(peer: str, *forwarded: str) -> web.Request:
    headers = [("X-Forwarded-For", value) for value in forwarded]
    transport = Mock()
    transport.get_extra_info.return_value = (peer, 40000)
    return make_mocked_request("POST", "/webhooks/whatsapp", headers=headers, transport=transport)


def test_without_a_trusted_proxy_the_peer_is_the_client() -> None:
    assert client_address(request("203.0.113.9", "198.51.100.1"), PROXIES) == "203.0.113.9"
    assert client_address(request("10.1.2.3", "198.51.100.1"), ()) == "10.1.2.3"


def test_behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() -> None:
    # The client put a forged hop first; nginx appended what it saw; a second proxy too.
    forwarded = "1.1.1.1, 198.51.100.7, 192.168.1.7"
    assert client_address(request("10.1.2.3", forwarded), PROXIES) == "198.51.100.7"
    assert client_address(request("10.1.2.3", "1.1.1.1", "198.51.100.8"), PROXIES) == "198.51.100.8"


def test_a_trusted_proxy_without_a_forwarded_client_is_the_client() -> None:
    assert client_address(request("10.1.2.3"), PROXIES) == "10.1.2.3"
    assert client_address(request("10.1.2.3", "10.9.9.9, junk"), PROXIES) == "junk"
