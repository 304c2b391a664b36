"""What a cron keeps of the request that made it (its `payload`), and the run request it makes
of that payload each time it fires.

As in LangGraph Server, the payload is the create request as sent (with the assistant's UUID for
a graph name, and the cron's id in `config.configurable.cron_id`, so the graph can tell which
cron started it); a change merges the changed fields into it.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from threadloom.service.errors import InvalidRequest, describe_validation_errors
from threadloom.service.schemas.crons import CronCreate, CronPatch
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.crons import CronRecord


def created_payload(body: CronCreate, assistant_id: str, cron_id: str) -> dict[str, Any]:
    """The payload of a new cron."""
    payload = body.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    return _with_ids(payload, assistant_id, cron_id)


def patched_payload(payload: dict[str, Any], patch: CronPatch, cron_id: str) -> dict[str, Any]:
    """`payload` with the fields `patch` sets replacing its own (the assistant and cron ids
    stay)."""
    changed = patch.model_dump(mode="json", exclude_unset=True)
    return _with_ids({**payload, **changed}, payload["assistant_id"], cron_id)


def run_request(cron: CronRecord) -> RunCreate:
    """The run the cron starts now: its payload, with the cron's metadata under the payload's,
    and (for a cron without a thread) the new thread deleted or kept after the run. 422 if the
    payload is not a valid run request."""
    payload = copy.deepcopy(cron.payload)
    if payload.get("context"):
        # A run takes configurable or context, not both: the cron id then stays out.
        configurable = (payload.get("config") or {}).get("configurable") or {}
        configurable.pop("cron_id", None)
    fields = {**payload, "metadata": {**cron.metadata, **(payload.get("metadata") or {})}}
    if cron.thread_id is None:
        fields["on_completion"] = cron.on_run_completed or "delete"
    try:
        return RunCreate.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_errors(exc.errors())) from None


def _with_ids(payload: dict[str, Any], assistant_id: str, cron_id: str) -> dict[str, Any]:
    config = dict(payload.get("config") or {})
    config["configurable"] = {**(config.get("configurable") or {}), "cron_id": cron_id}
    return {**payload, "assistant_id": assistant_id, "config": config}
