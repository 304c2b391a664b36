"""Assistants: create, get, change, delete, search, count, versions; the graph they run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from langgraph.pregel import Pregel

from threadloom.service.assistants import Assistants, search_value
from threadloom.service.auth.policy import authorize
from threadloom.service.deployment.graph_description import (
    graph_drawing,
    graph_schemas,
    subgraph_schemas,
)
from threadloom.service.errors import InvalidRequest
from threadloom.service.http.deps import ServicesDep
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.pagination import paged_response
from threadloom.service.schemas.assistants import (
    AssistantCount,
    AssistantCreate,
    AssistantPatch,
    AssistantSearch,
    AssistantVersionChange,
    AssistantVersionsSearch,
)
from threadloom.service.schemas.responses import Assistant, AssistantVersion, answers, selectable
from threadloom.service.storage.assistants import Assistant as AssistantRecord

router = APIRouter(prefix="/assistants", tags=["assistants"])


async def _assistants(services: ServicesDep) -> Assistants:
    return services.assistants


AssistantsDep = Annotated[Assistants, Depends(_assistants)]


@router.post("", responses=answers(Assistant, 400, 404, 409))
async def create_assistant(body: AssistantCreate, assistants: AssistantsDep) -> JsonResponse:
    asked = body.model_dump()
    await authorize("assistants", "create", asked)  # its handler may add to the metadata
    body = body.model_copy(update={"metadata": asked["metadata"]})
    return JsonResponse((await assistants.create(body)).to_api())


@router.post("/search", responses=answers(list[selectable(Assistant)], 404))
async def search_assistants(
    assistants: AssistantsDep, body: AssistantSearch | None = None
) -> JsonResponse:
    body = body or AssistantSearch()
    found = await assistants.visible(body, peek=1)
    return paged_response(found, offset=body.offset, limit=body.limit, select=body.select)


@router.post("/count", responses=answers(int, 404))
async def count_assistants(
    assistants: AssistantsDep, body: AssistantCount | None = None
) -> JsonResponse:
    body = body or AssistantCount()
    await authorize("assistants", "search", search_value(body))
    return JsonResponse(await assistants.count(body))


@router.get("/{assistant_id}", responses=answers(Assistant, 404))
async def get_assistant(assistant_id: str, assistants: AssistantsDep) -> JsonResponse:
    return JsonResponse((await assistants.read(assistant_id)).to_api())


@router.patch("/{assistant_id}", responses=answers(Assistant, 400, 403, 404))
async def patch_assistant(
    assistant_id: str, body: AssistantPatch, assistants: AssistantsDep
) -> JsonResponse:
    asked = {"assistant_id": assistant_id, **body.model_dump(exclude_unset=True)}
    await authorize("assistants", "update", asked)
    if "metadata" in asked:
        body = body.model_copy(update={"metadata": asked["metadata"]})
    return JsonResponse((await assistants.patch(assistant_id, body)).to_api())


@router.delete(
    "/{assistant_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 403, 404, 409, status_code=204),
)
async def delete_assistant(
    assistant_id: str, services: ServicesDep, delete_threads: bool = False
) -> Response:
    """Delete the assistant and stop its runs; with `delete_threads`, also its threads."""
    await authorize("assistants", "delete", {"assistant_id": assistant_id})
    if delete_threads:  # only the threads the caller may delete go with it
        await authorize("threads", "delete", {"thread_id": None, "assistant_id": assistant_id})
    deleted = await services.assistants.delete(assistant_id)
    await services.run_manager.forget_assistant(deleted.assistant_id, delete_threads=delete_threads)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{assistant_id}/versions", responses=answers(list[AssistantVersion], 404))
async def assistant_versions(
    assistant_id: str, assistants: AssistantsDep, body: AssistantVersionsSearch | None = None
) -> JsonResponse:
    await authorize("assistants", "read", {"assistant_id": assistant_id})
    versions = await assistants.versions(assistant_id, body or AssistantVersionsSearch())
    return JsonResponse([version.version_to_api() for version in versions])


@router.post("/{assistant_id}/latest", responses=answers(Assistant, 403, 404))
async def set_latest_version(
    assistant_id: str, body: AssistantVersionChange, assistants: AssistantsDep
) -> JsonResponse:
    await authorize("assistants", "update", {"assistant_id": assistant_id, "version": body.version})
    return JsonResponse((await assistants.set_latest(assistant_id, body.version)).to_api())


@router.get("/{assistant_id}/graph", responses=answers(dict[str, Any], 404))
async def get_graph(
    assistant_id: str, services: ServicesDep, xray: str | None = None
) -> JsonResponse:
    """The drawing of the assistant's graph: `xray=true` (or a depth) draws subgraphs too."""
    await authorize("assistants", "read", {"assistant_id": assistant_id})
    depth = _xray(xray)
    async with _assistant_graph(services, assistant_id) as (_, graph):
        return JsonResponse(graph_drawing(graph, depth))


@router.get("/{assistant_id}/schemas", responses=answers(dict[str, Any], 404))
async def get_schemas(assistant_id: str, services: ServicesDep) -> JsonResponse:
    await authorize("assistants", "read", {"assistant_id": assistant_id})
    async with _assistant_graph(services, assistant_id) as (assistant, graph):
        return JsonResponse({"graph_id": assistant.graph_id, **graph_schemas(graph)})


@router.get("/{assistant_id}/subgraphs", responses=answers(dict[str, Any], 404))
@router.get("/{assistant_id}/subgraphs/{namespace}", responses=answers(dict[str, Any], 404))
async def get_subgraphs(
    assistant_id: str, services: ServicesDep, namespace: str | None = None, recurse: bool = False
) -> JsonResponse:
    await authorize("assistants", "read", {"assistant_id": assistant_id})
    async with _assistant_graph(services, assistant_id) as (_, graph):
        return JsonResponse(subgraph_schemas(graph, namespace, recurse))


@asynccontextmanager
async def _assistant_graph(
    services: ServicesDep, assistant_id: str
) -> AsyncIterator[tuple[AssistantRecord, Pregel]]:
    """The assistant and its graph, made with the assistant's config if it is a factory."""
    assistant = await services.assistants.get(assistant_id)
    config = {
        **assistant.config,
        "configurable": {
            **(assistant.config.get("configurable") or {}),
            "graph_id": assistant.graph_id,
            "assistant_id": assistant.assistant_id,
        },
    }
    async with services.graphs.open(assistant.graph_id, config) as graph:
        yield assistant, graph


def _xray(value: str | None) -> bool | int:
    if value in (None, "", "false", "False"):
        return False
    if value in ("true", "True"):
        return True
    try:
        depth = int(value)
    except ValueError:
        depth = 0
    if depth <= 0:
        raise InvalidRequest("Invalid xray value: use true, false or a depth of 1 or more.")
    return depth
