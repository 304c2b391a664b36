"""The bounds of every number and size in a request body, in one place, as annotated types.

A value outside them is a 422 naming the field and the bound (the OpenAPI document shows them
too). The bounds an operator may want to change are settings instead: the body size
(`THREADLOOM_MAX_BODY_BYTES`) and the JSON nesting depth (`THREADLOOM_MAX_JSON_DEPTH`), checked
before any route parses the body (`service.http.limits`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from langchain_core.messages.utils import convert_to_messages
from pydantic import AfterValidator, Field

from threadloom.service.http.json_codec import dumps

MAX_PAGE = 1000  # items per page (`limit`), ids per search
MAX_OFFSET = 1_000_000_000
MAX_AFTER_SECONDS = 86_400.0  # a delayed run starts within a day
MAX_RECURSION_LIMIT = 10_000  # supersteps of one run (`config.recursion_limit`)
MAX_TTL_MINUTES = 10 * 525_600.0  # ten years (store items)
MAX_BATCH_RUNS = 100  # runs of one `POST /runs/batch`
MAX_METADATA_BYTES = 64 * 1024  # one metadata object (or filter), as JSON
MAX_MESSAGES = 1000  # messages in one run input or state update
MAX_MESSAGE_BYTES = 512 * 1024  # one message, as JSON
MAX_VERSION = 2**31 - 1  # assistant versions
MAX_NAMESPACE_DEPTH = 100  # store namespace labels
# Metadata filter keys become JSON paths: LangGraph's checkpointers accept these characters.
_FILTER_KEY = re.compile(r"[A-Za-z0-9_.\-]+")

Limit = Annotated[int, Field(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
AfterSeconds = Annotated[float, Field(ge=0, le=MAX_AFTER_SECONDS)]
TtlMinutes = Annotated[float, Field(gt=0, le=MAX_TTL_MINUTES)]
Ids = Annotated[list[str], Field(max_length=MAX_PAGE)]


def check_metadata_size(metadata: dict[str, Any]) -> dict[str, Any]:
    size = len(dumps(metadata))
    if size > MAX_METADATA_BYTES:
        raise ValueError(
            f"the metadata is {size} bytes as JSON; the limit is {MAX_METADATA_BYTES} bytes"
        )
    return metadata


def check_filter_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    bad = [key for key in metadata if not _FILTER_KEY.fullmatch(key)]
    if bad:
        raise ValueError(
            f"filter key {bad[0]!r} may hold only letters, digits, '_', '.' and '-'"
        )
    return check_metadata_size(metadata)


def check_run_config(config: dict[str, Any]) -> dict[str, Any]:
    """A run's `config`: `configurable` an object, `recursion_limit` a bounded whole number,
    `tags` a list of strings."""
    configurable = config.get("configurable")
    if configurable is not None and not isinstance(configurable, dict):
        raise ValueError("config.configurable must be an object")
    limit = config.get("recursion_limit")
    if limit is not None and (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= MAX_RECURSION_LIMIT
    ):
        raise ValueError(
            f"config.recursion_limit must be a whole number from 1 to {MAX_RECURSION_LIMIT}"
        )
    tags = config.get("tags")
    if tags is not None and not (
        isinstance(tags, list) and all(isinstance(tag, str) for tag in tags)
    ):
        raise ValueError("config.tags must be a list of strings")
    return config


def bound_messages(values: Any) -> Any:
    """`messages` in a run's input: at most `MAX_MESSAGES`, each at most `MAX_MESSAGE_BYTES`.
    What they hold is the graph's to judge: one that cannot take them fails the run, which
    reports it (an `error` event), as LangGraph Server does."""
    messages = values.get("messages") if isinstance(values, dict) else None
    if not isinstance(messages, list):
        return values
    if len(messages) > MAX_MESSAGES:
        raise ValueError(f"{len(messages)} messages; the limit is {MAX_MESSAGES} per request")
    for at, message in enumerate(messages):
        size = len(dumps(message))
        if size > MAX_MESSAGE_BYTES:
            raise ValueError(
                f"messages[{at}] is {size} bytes as JSON; the limit is {MAX_MESSAGE_BYTES}"
            )
    return values


def check_messages(values: Any) -> Any:
    """`messages` in a state update (written at once, outside any run): bounded as a run's,
    and a list of messages LangChain can read (a role it knows, content)."""
    if not isinstance(values, dict) or values.get("messages") is None:
        return values
    messages = values["messages"]
    if isinstance(messages, str | dict):
        messages = [messages]
    if not isinstance(messages, list):
        raise ValueError("messages must be a list of messages")
    bound_messages({"messages": messages})
    for at, message in enumerate(messages):
        try:
            convert_to_messages([message])
        except Exception as exc:  # LangChain raises several types for what it cannot read
            reason = str(exc).split("\n")[0]
            raise ValueError(f"messages[{at}] is not a message: {reason}") from None
    return values


Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata_size)]
MetadataFilter = Annotated[dict[str, Any], AfterValidator(check_filter_keys)]
RunConfig = Annotated[dict[str, Any], AfterValidator(check_run_config)]
