"""The OpenAPI document's operation-level and top-level fields: every operation has a unique
operationId and a declared tag, the table names no operation that is gone, and the document's
version is the package's."""

import importlib.metadata

import pytest

from services.gateway.openapi import openapi_document
from services.gateway.openapi_operations import OPERATIONS, with_operation_ids
from services.gateway.settings import GatewaySettings

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document(monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("ADMIN_TOKEN", "t" * 40)  # the /admin/ routes too
    return openapi_document(GatewaySettings.from_env())


def test_every_operation_has_a_unique_id_and_a_declared_tag(document: dict) -> None:
    declared = {tag["name"] for tag in document["tags"]}
    operations = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations:
        assert operation["tags"] and set(operation["tags"]) <= declared, (method, path)
    assert {(method, path) for method, path, _ in operations} == set(OPERATIONS)


def test_the_document_has_servers_and_the_package_version(document: dict) -> None:
    assert document["servers"] == [{"url": "/", "description": "This gateway, or the proxy in front of it"}]
    assert document["info"]["version"] == importlib.metadata.version("pigeon")


def test_an_operation_without_an_id_fails_the_build() -> None:
    with pytest.raises(KeyError, match="GET /nowhere"):
        with_operation_ids({"/nowhere": {"get": {"responses": {}}}})


def test_without_the_admin_routes_their_tag_is_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    document = openapi_document(GatewaySettings.from_env())
    assert "Administration" not in {tag["name"] for tag in document["tags"]}
    assert not [path for path in document["paths"] if path.startswith("/admin/")]
