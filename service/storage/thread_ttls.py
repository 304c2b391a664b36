"""Thread time-to-live: when each thread expires, and the guarded statements a sweeper uses.

A thread with a TTL (`{"strategy": "delete" | "keep_latest", "ttl": minutes}` on create or
update, or `checkpointer.ttl.default_ttl` for new threads) expires `ttl` minutes after its last
activity: its creation, an update of the thread, or a run started on it. Then a sweeper deletes
it (with its runs, their events and its checkpoints), or keeps only its latest checkpoints.

Many replicas sweep the same database, so a sweeper first *claims* an expired thread: one
statement moves its expiry from the value it read to a claim time a little ahead, and only the
replica whose statement changed the row proceeds. The deletion is guarded the same way (the
claim must still hold and no run may be pending or running), so a run started on the thread
after the claim (which renews the expiry) keeps it alive. A replica that dies holding a claim
leaves the thread to be claimed again once the claim time passes.

Expiry times are seconds since the epoch (see the migration), passed in by the caller, so that
tests sweep with a clock of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadloom.service.errors import ConfigurationError
from threadloom.service.schemas.bounds import MAX_TTL_MINUTES
from threadloom.service.storage.database import Database, Queries

TtlStrategy = Literal["delete", "keep_latest"]
# LangGraph Server sweeps about every five minutes unless told otherwise.
DEFAULT_SWEEP_INTERVAL_MINUTES = 5.0
_UNFINISHED_RUN = (
    "EXISTS (SELECT 1 FROM runs WHERE runs.thread_id = {table}.thread_id "
    "AND runs.status IN ('pending', 'running'))"
)


class ThreadTtl(BaseModel):
    """A thread's TTL as the API takes it: `{"strategy": "delete", "ttl": 60}`."""

    model_config = ConfigDict(extra="forbid")

    strategy: TtlStrategy = "delete"
    ttl: float = Field(
        gt=0,
        le=MAX_TTL_MINUTES,
        # Unbounded, a TTL of 1e18 minutes was accepted, then reading the thread failed (500).
        description=f"Minutes after the thread's last activity; at most {MAX_TTL_MINUTES:.0f} "
        "(ten years, as for store items).",
    )


class CheckpointerTtl(BaseModel):
    """`checkpointer.ttl` of langgraph.json (the `checkpointer_ttl` setting)."""

    model_config = ConfigDict(extra="forbid")

    strategy: TtlStrategy = "delete"
    default_ttl: float | None = Field(None, gt=0, le=MAX_TTL_MINUTES)
    sweep_interval_minutes: float = Field(DEFAULT_SWEEP_INTERVAL_MINUTES, gt=0)
    sweep_limit: int = Field(1000, ge=1)

    @classmethod
    def from_setting(cls, value: dict[str, Any] | None) -> CheckpointerTtl:
        """The setting validated; raises `ConfigurationError` naming what is wrong."""
        try:
            return cls.model_validate(value or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'ttl'}: {error['msg']}"
                for error in exc.errors()
            )
            raise ConfigurationError(f"Invalid checkpointer.ttl: {problems}") from None

    def default(self) -> ThreadTtl | None:
        """The TTL a new thread gets when it asks for none."""
        if self.default_ttl is None:
            return None
        return ThreadTtl(strategy=self.strategy, ttl=self.default_ttl)


@dataclass(frozen=True, slots=True)
class ThreadTtlState:
    """A thread's TTL as stored; `to_api` is LangGraph's `ttl` field of a thread."""

    strategy: TtlStrategy
    ttl_minutes: float
    expires_at: float

    def to_api(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "ttl_minutes": self.ttl_minutes,
            "expires_at": datetime.fromtimestamp(self.expires_at, UTC),
        }


@dataclass(frozen=True, slots=True)
class Claim:
    """An expired thread one sweeper holds until `until` (seconds since the epoch)."""

    thread_id: str
    strategy: TtlStrategy
    until: float


class ThreadTtls:
    """The `thread_ttls` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set(
        self, thread_id: str, ttl: ThreadTtl, now: float, tx: Queries | None = None
    ) -> None:
        """Give the thread `ttl` (replacing any), counted from `now`; in `tx` if given."""
        await (tx or self._db).execute(
            "INSERT INTO thread_ttls (thread_id, strategy, ttl_minutes, expires_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (thread_id) DO UPDATE SET "
            "strategy = excluded.strategy, ttl_minutes = excluded.ttl_minutes, "
            "expires_at = excluded.expires_at",
            (thread_id, ttl.strategy, ttl.ttl, now + ttl.ttl * 60),
        )

    async def get(self, thread_id: str) -> ThreadTtlState | None:
        row = await self._db.fetch_one(
            "SELECT strategy, ttl_minutes, expires_at FROM thread_ttls WHERE thread_id = ?",
            (thread_id,),
        )
        if row is None:
            return None
        return ThreadTtlState(row["strategy"], row["ttl_minutes"], row["expires_at"])

    async def renew(self, thread_id: str, now: float, tx: Queries | None = None) -> None:
        """The thread was active at `now`: its TTL (if it has one) counts from then."""
        await (tx or self._db).execute(
            "UPDATE thread_ttls SET expires_at = ? + ttl_minutes * 60 WHERE thread_id = ?",
            (now, thread_id),
        )

    async def claim_expired(self, now: float, *, claim_s: float, limit: int) -> list[Claim]:
        """Claim up to `limit` threads expired at `now` that no run is using; each claim is
        this caller's alone until `now + claim_s`."""
        rows = await self._db.fetch_all(
            "SELECT thread_id, strategy, expires_at FROM thread_ttls WHERE expires_at <= ? "
            f"AND NOT {_UNFINISHED_RUN.format(table='thread_ttls')} "
            "ORDER BY expires_at LIMIT ?",
            (now, limit),
        )
        until = now + claim_s
        claims = []
        for row in rows:
            moved = await self._db.execute(
                "UPDATE thread_ttls SET expires_at = ? WHERE thread_id = ? AND expires_at = ?",
                (until, row["thread_id"], row["expires_at"]),
            )
            if moved:  # another replica did not claim it first
                claims.append(Claim(row["thread_id"], row["strategy"], until))
        return claims

    async def delete_claimed(self, claim: Claim) -> bool:
        """Delete the claimed thread's row (its runs, their events and its TTL go with it) if
        the claim still holds and no run started on it since; False if it stays."""
        deleted = await self._db.execute(
            "DELETE FROM threads WHERE thread_id = ? AND EXISTS (SELECT 1 FROM thread_ttls "
            "WHERE thread_ttls.thread_id = threads.thread_id AND thread_ttls.expires_at = ?) "
            f"AND NOT {_UNFINISHED_RUN.format(table='threads')}",
            (claim.thread_id, claim.until),
        )
        return deleted > 0

    async def release(self, claim: Claim, now: float) -> None:
        """After a `keep_latest` sweep: the thread's TTL counts again from `now`, unless
        activity renewed it meanwhile."""
        await self._db.execute(
            "UPDATE thread_ttls SET expires_at = ? + ttl_minutes * 60 "
            "WHERE thread_id = ? AND expires_at = ?",
            (now, claim.thread_id, claim.until),
        )
