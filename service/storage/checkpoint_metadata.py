"""The thread id in every checkpoint's metadata of a run, as LangGraph Server writes it.

LangGraph's savers build a checkpoint's metadata from the run's config but leave `thread_id`
out (`EXCLUDED_METADATA_KEYS`); LangGraph Server's own savers put it back, and apps read it
(`threads.get_history(...)[i]["metadata"]["thread_id"]`). A run's config carries it in its
metadata (`service.runs.spec`); the savers here keep it. Checkpoints written outside a run (no
`thread_id` in the config's metadata) are stored unchanged.
"""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver


def with_thread_id(config: RunnableConfig, metadata: CheckpointMetadata) -> CheckpointMetadata:
    """`metadata` with the run's thread id, when the config's metadata names one."""
    thread_id = (config.get("metadata") or {}).get("thread_id")
    if thread_id is None:
        return metadata
    return {**metadata, "thread_id": thread_id}  # type: ignore[typeddict-unknown-key]


class ThreadPostgresSaver(AsyncPostgresSaver):
    """LangGraph's PostgreSQL saver, keeping a run's thread id in the metadata."""

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        metadata = with_thread_id(config, metadata)
        return await super().aput(config, checkpoint, metadata, new_versions)
