"""Crons: runs started on a schedule, on a thread or on a new thread each time (see
`service.crons`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from threadloom.service.crons.jobs import CronJobs
from threadloom.service.deps import ServicesDep, ThreadId, UuidPath
from threadloom.service.json_codec import JsonResponse
from threadloom.service.routes.pages import paged_response
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
    return JsonResponse((await jobs.create(None, body)).to_api())


@router.post("/threads/{thread_id}/runs/crons", responses=answers(Cron, *RUN_ERRORS))
async def create_thread_cron(
    thread_id: ThreadId, body: CronCreate, jobs: CronJobsDep
) -> JsonResponse:
    """A cron that runs on this thread."""
    return JsonResponse((await jobs.create(thread_id, body)).to_api())


@router.post("/runs/crons/search", responses=answers(list[selectable(Cron)]))
async def search_crons(jobs: CronJobsDep, body: CronSearch | None = None) -> JsonResponse:
    """The current owner's crons, newest first unless `sort_by` / `sort_order` say otherwise;
    `select` keeps only the fields it names."""
    body = body or CronSearch()
    found = await jobs.search(body.model_copy(update={"limit": body.limit + 1}))
    return paged_response(found, offset=body.offset, limit=body.limit, select=body.select)


@router.post("/runs/crons/count", responses=answers(int))
async def count_crons(jobs: CronJobsDep, body: CronCount | None = None) -> JsonResponse:
    return JsonResponse(await jobs.count(body or CronCount()))


@router.get("/runs/crons/{cron_id}", responses=answers(Cron, 404))
async def get_cron(cron_id: UuidPath, jobs: CronJobsDep) -> JsonResponse:
    return JsonResponse((await jobs.get(cron_id)).to_api())


@router.patch("/runs/crons/{cron_id}", responses=answers(Cron, *RUN_ERRORS))
async def patch_cron(cron_id: UuidPath, body: CronPatch, jobs: CronJobsDep) -> JsonResponse:
    """Change the fields given; a new schedule or timezone takes effect from now."""
    return JsonResponse((await jobs.update(cron_id, body)).to_api())


@router.delete(
    "/runs/crons/{cron_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=answers(None, 404, status_code=204),
)
async def delete_cron(cron_id: UuidPath, jobs: CronJobsDep) -> Response:
    await jobs.delete(cron_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
