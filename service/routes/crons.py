"""Crons: runs started on a schedule, on a thread or on a new thread each time (see
`service.crons`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status

from threadloom.service.auth.policy import authorize
from threadloom.service.crons.jobs import CronJobs
from threadloom.service.http.deps import ServicesDep, ThreadId, UuidPath
from threadloom.service.http.json_codec import JsonResponse
from threadloom.service.http.pagination import paged_response
from threadloom.service.schemas.crons import CronCount, CronCreate, CronPatch, CronSearch
from threadloom.service.schemas.responses import RUN_ERRORS, Cron, answers, selectable

router = APIRouter(tags=["crons"])


async def _cron_jobs(services: ServicesDep) -> CronJobs:
    return services.cron_jobs


CronJobsDep = Annotated[CronJobs, Depends(_cron_jobs)]


@router.post("/runs/crons", responses=answers(Cron, *RUN_ERRORS))
async def create_cron(body: CronCreate, jobs: CronJobsDep) -> JsonResponse:
    """A cron whose every run gets a new thread (deleted after, unless `on_run_completed` is
    `keep`)."""
    body = await _authorize_create(None, body)
    return JsonResponse((await jobs.create(None, body)).to_api())


@router.post("/threads/{thread_id}/runs/crons", responses=answers(Cron, *RUN_ERRORS))
async def create_thread_cron(
    thread_id: ThreadId, body: CronCreate, jobs: CronJobsDep
) -> JsonResponse:
    """A cron that runs on this thread."""
    await authorize("threads", "read", {"thread_id": thread_id})
    body = await _authorize_create(thread_id, body)
    return JsonResponse((await jobs.create(thread_id, body)).to_api())


@router.post("/runs/crons/search", responses=answers(list[selectable(Cron)]))
async def search_crons(jobs: CronJobsDep, body: CronSearch | None = None) -> JsonResponse:
    """The current owner's crons, newest first unless `sort_by` / `sort_order` say otherwise;
    `select` keeps only the fields it names."""
    body = body or CronSearch()
    await authorize("crons", "search", _search_value(body))
    found = await jobs.search(body.model_copy(update={"limit": body.limit + 1}))
    return paged_response(found, offset=body.offset, limit=body.limit, select=body.select)


@router.post("/runs/crons/count", responses=answers(int))
async def count_crons(jobs: CronJobsDep, body: CronCount | None = None) -> JsonResponse:
    body = body or CronCount()
    await authorize("crons", "search", _search_value(body))
    return JsonResponse(await jobs.count(body))


@router.get("/runs/crons/{cron_id}", responses=answers(Cron, 404))
async def get_cron(cron_id: UuidPath, jobs: CronJobsDep) -> JsonResponse:
    await authorize("crons", "read", {"cron_id": cron_id})
    return JsonResponse((await jobs.get(cron_id)).to_api())


@router.patch("/runs/crons/{cron_id}", responses=answers(Cron, *RUN_ERRORS))
async def patch_cron(cron_id: UuidPath, body: CronPatch, jobs: CronJobsDep) -> JsonResponse:
    """Change the fields given; a new schedule or timezone takes effect from now."""
    await authorize("crons", "update", {"cron_id": cron_id, **body.model_dump(exclude_unset=True)})
    return JsonResponse((await jobs.update(cron_id, body)).to_api())


@router.delete(
    "/runs/crons/{cron_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, status_code=204),
)
async def delete_cron(cron_id: UuidPath, jobs: CronJobsDep) -> Response:
    await authorize("crons", "delete", {"cron_id": cron_id})
    await jobs.delete(cron_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _authorize_create(thread_id: str | None, body: CronCreate) -> CronCreate:
    """Ask the policy (`crons.create`); the cron keeps the metadata its handler set."""
    asked = {"thread_id": thread_id, **body.model_dump(), "metadata": dict(body.metadata or {})}
    await authorize("crons", "create", asked)
    if asked["metadata"] == (body.metadata or {}):
        return body  # (so that a cron's payload shows metadata only where the request set it)
    return body.model_copy(update={"metadata": asked["metadata"]})


def _search_value(body: CronCount) -> dict[str, Any]:
    """What a policy's `crons.search` handler receives (LangGraph's `CronsSearch`)."""
    return {
        "assistant_id": body.assistant_id,
        "thread_id": body.thread_id,
        "metadata": body.metadata or {},
        "limit": getattr(body, "limit", None),
        "offset": getattr(body, "offset", None),
    }
