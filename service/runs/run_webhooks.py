"""A run's webhook, beside its lifecycle: when the run's turn came, and the POST of its result
once it has ended (delivered by `WebhookSender`, in the background)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from threadloom.service.errors import error_event
from threadloom.service.runs.active import ActiveRun
from threadloom.service.runs.executor import RunExecutor, RunOutcome
from threadloom.service.runs.spec import RunSpec
from threadloom.service.runs.webhooks import WebhookSender, result_payload
from threadloom.service.storage.records import utc_now


class RunWebhooks:
    """Sends each ended run's result to the webhook its request named, if any."""

    def __init__(self, sender: WebhookSender, executor: RunExecutor) -> None:
        self.sender = sender
        self._executor = executor
        # When each active run's turn came (its webhook's `run_started_at`).
        self._started_at: dict[str, datetime] = {}

    def started(self, run_id: str) -> None:
        self._started_at[run_id] = utc_now()

    def forget(self, run_id: str) -> None:
        self._started_at.pop(run_id, None)

    async def values(self, spec: RunSpec, outcome: RunOutcome) -> Any:
        """The run's final values for its webhook (a failed run's: its thread's last ones)."""
        if not spec.request.webhook:
            return None
        if outcome.status == "error":
            return await self._executor.last_values(spec)
        return outcome.result

    def send(self, active: ActiveRun | None, outcome: RunOutcome, values: Any) -> None:
        """POST the ended run's result (read before it settled: `values`) to its webhook."""
        if active is None or not active.spec.request.webhook:
            return
        spec = active.spec
        now = utc_now()
        row = replace(active.record, status=outcome.status, updated_at=now, metadata=spec.metadata)
        error = error_event(outcome.error) if outcome.status == "error" and outcome.error else None
        payload = result_payload(
            row.to_api(),
            started_at=self._started_at.get(spec.run_id),
            ended_at=now,
            values=values,
            error=error,
        )
        self.sender.send(spec.request.webhook, payload)
