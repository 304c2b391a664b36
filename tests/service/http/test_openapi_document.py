"""The OpenAPI document's shared answers: the error shape, and with API keys on, 401 and 429
declared on every route but the open ones, which answer 401 without a key."""

from __future__ import annotations

import re

import httpx

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.auth.api_keys import OPEN_PATHS
from threadloom.service.observability.install import METRICS_PATH

SOME_UUID = "00000000-0000-4000-8000-000000000000"


def _operations(server: LiveServer) -> list[tuple[str, str, dict]]:
    document = server.app.openapi()
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


async def test_errors_are_documented_as_sent(server: LiveServer) -> None:
    document = server.app.openapi()
    operations = _operations(server)

    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]
    for _, path, operation in operations:
        for code, answer in operation["responses"].items():
            # The OpenAI-compatible routes answer in OpenAI's error shape, as their clients
            # expect, but for what the layers around every route refuse (408, 413, 422, 429).
            openai = path.startswith("/v1/") and code not in ("408", "413", "422", "429")
            body = "OpenAIErrorBody" if openai else "ErrorBody"
            if code.startswith(("4", "5")) or code == "default":
                schema = answer["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{body}"}, (path, code)
        assert "401" not in operation["responses"]  # keys are off
    declared_200 = [op["responses"].get("200", {}) for _, _, op in operations]
    assert all(answer.get("content") for answer in declared_200 if answer)


async def test_with_api_keys_every_route_declares_and_answers_401(start: StartServer) -> None:
    server = await start(api_keys="owner:secret")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for method, path, operation in _operations(server):
            url = re.sub(r"\{[^}]+\}", SOME_UUID, path)
            answer = await client.request(method, url)
            if path in OPEN_PATHS | {METRICS_PATH}:  # /metrics: public unless told otherwise
                assert answer.status_code == 200
                assert "401" not in operation["responses"]
            else:
                assert answer.status_code == 401, (method, path)
                assert {"401", "429"} <= set(operation["responses"]), (method, path)


async def test_searches_with_select_answer_partial_objects(server: LiveServer) -> None:
    """`select` keeps only the fields it names: no field of a search's items is required."""
    document = server.app.openapi()
    schemas = document["components"]["schemas"]
    for path in ("/threads/search", "/assistants/search", "/runs/crons/search"):
        answer = document["paths"][path]["post"]["responses"]["200"]
        items = answer["content"]["application/json"]["schema"]["items"]
        item = schemas[items["$ref"].rsplit("/", 1)[1]]
        assert not item.get("required"), path
    assert "thread_id" in schemas["Thread"]["required"]  # a thread read whole has its id


async def test_routes_with_a_body_document_an_unparseable_one(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    document = server.app.openapi()
    assert "400" in document["paths"]["/threads"]["post"]["responses"]
    answer = await client.post(
        "/threads", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code in (400, 422)
    assert str(answer.status_code) in document["paths"]["/threads"]["post"]["responses"]
