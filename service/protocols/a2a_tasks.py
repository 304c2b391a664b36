"""A2A's objects built from threads and runs: a context is a thread, a task is one of its runs
(task id `<thread_id>:<run_id>`, as LangGraph Server names them), messages are the thread's
human and AI messages, and the task's artifact is the run's answer (its last AI message). A run
that stopped at `interrupt()` leaves its task `input-required`, with an "Interrupt" artifact of
one data part per interrupt (`{"id", "value"}`), as LangGraph Server answers it.

Objects are written in A2A 1.0's JSON (the `a2a-sdk` 1.x clients' wire: `ROLE_AGENT`,
`TASK_STATE_COMPLETED`, a `SendMessage` result wrapped as `{"task": ...}`, stream events as
`{"statusUpdate": ...}`); `legacy` turns them into A2A 0.3's JSON for clients that call the
slash-named methods (`message/send`, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from threadloom.service.storage.records import RunStatus

Json = dict[str, Any]

TERMINAL_STATES = frozenset(
    {"TASK_STATE_COMPLETED", "TASK_STATE_FAILED", "TASK_STATE_CANCELED", "TASK_STATE_REJECTED"}
)
_STATE_OF_RUN: dict[str, str] = {
    "pending": "TASK_STATE_SUBMITTED",
    "running": "TASK_STATE_WORKING",
    "success": "TASK_STATE_COMPLETED",
    "interrupted": "TASK_STATE_CANCELED",  # a run is interrupted when it is cancelled
    "error": "TASK_STATE_FAILED",
    "timeout": "TASK_STATE_FAILED",
}
_ROLES = {"human": "ROLE_USER", "ai": "ROLE_AGENT"}
_LEGACY_KIND = {
    "statusUpdate": "status-update",
    "artifactUpdate": "artifact-update",
    "task": "task",
    "message": "message",
}


def task_id(thread_id: str, run_id: str) -> str:
    return f"{thread_id}:{run_id}"


def task_state(run_status: RunStatus, thread_interrupted: bool = False) -> str:
    """The task state of a run; a finished run that left its thread waiting for a human's
    input asks for input."""
    if run_status == "success" and thread_interrupted:
        return "TASK_STATE_INPUT_REQUIRED"
    return _STATE_OF_RUN.get(run_status, "TASK_STATE_SUBMITTED")


def status(state: str, text: str | None = None, context: Json | None = None) -> Json:
    """A task status now; `text`, if given, as the agent's message (why it failed, say)."""
    found: Json = {"state": state, "timestamp": datetime.now(UTC).isoformat()}
    if text is not None:
        found["message"] = agent_message(text, **(context or {}))
    return found


def agent_message(text: str, **ids: str) -> Json:
    return {"messageId": str(uuid4()), "role": "ROLE_AGENT", "parts": [{"text": text}], **ids}


def task(
    thread_id: str,
    run_id: str,
    state: str,
    values: Json | None,
    *,
    failure: str | None = None,
    history_length: int | None = None,
    interrupts: list[Json] | None = None,
) -> Json:
    """The task of a run; a completed one carries its answer as an artifact, one waiting for
    input its `interrupts`, and both the conversation so far as its history (the last
    `history_length` messages, if given)."""
    ids = {"taskId": task_id(thread_id, run_id), "contextId": thread_id}
    found: Json = {
        "id": ids["taskId"],
        "contextId": thread_id,
        "status": status(state, failure, ids),
    }
    messages = (values or {}).get("messages") or []
    if state == "TASK_STATE_COMPLETED":
        found["artifacts"] = [answer_artifact(last_ai_text(messages))]
    elif state == "TASK_STATE_INPUT_REQUIRED":
        found["artifacts"] = [interrupt_artifact(interrupts or [])]
    history = [conversation_message(m, ids) for m in messages if _in_conversation(m)]
    if history_length is not None:
        history = history[-history_length:] if history_length else []
    if history:
        found["history"] = history
    return found


def progress(update: Json) -> list[str]:
    """What a graph step did, in words, from its `updates` event: the tools the agent called
    and what they answered (the answer itself comes as the task's artifact)."""
    said = []
    for node_update in update.values():
        messages = node_update.get("messages") if isinstance(node_update, dict) else None
        for message in messages or []:
            if message.get("type") == "tool":
                said.append(f"{message.get('name')} answered: {_text(message)}")
            for call in message.get("tool_calls") or []:
                said.append(f"Calling {call.get('name')} with {call.get('args')}")
    return said


def answer_artifact(text: str) -> Json:
    return {
        "artifactId": str(uuid4()),
        "name": "Assistant Response",
        "parts": [{"text": text}],
    }


def interrupt_artifact(interrupts: list[Json]) -> Json:
    """What the agent waits for: one data part per interrupt, its id and its value."""
    return {
        "artifactId": str(uuid4()),
        "name": "Interrupt",
        "description": "Agent requires input to continue",
        "parts": [{"data": {"id": i.get("id"), "value": i.get("value")}} for i in interrupts],
    }


def last_ai_text(messages: list[Json]) -> str:
    return next((_text(m) for m in reversed(messages) if m.get("type") == "ai" and _text(m)), "")


def conversation_message(message: Json, ids: Json) -> Json:
    return {
        "messageId": message.get("id") or str(uuid4()),
        "role": _ROLES[message["type"]],
        "parts": [{"text": _text(message)}],
        **ids,
    }


def _in_conversation(message: Json) -> bool:
    # Tool calls and results are the agent's working, not the conversation.
    return message.get("type") in _ROLES and bool(_text(message))


def _text(message: Json) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            block.get("text", "") if isinstance(block, dict) else str(block) for block in content
        )
    return ""


def legacy(result: Json) -> Json:
    """An A2A 1.0 result as A2A 0.3 writes it: lowercase roles and states, `kind` on each
    object, a task or event unwrapped from its 1.0 envelope."""
    if len(result) == 1 and (key := next(iter(result))) in _LEGACY_KIND:
        inner = _legacy_values(result[key])
        inner["kind"] = _LEGACY_KIND[key]
        if key == "statusUpdate":
            inner["final"] = inner["status"]["state"] not in ("submitted", "working")
        return inner
    return _legacy_values(result)


def _legacy_values(value: Any) -> Any:
    if isinstance(value, list):
        return [_legacy_values(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted: Json = {}
    for key, item in value.items():
        if key == "role" and isinstance(item, str):
            converted[key] = item.removeprefix("ROLE_").lower()
        elif key == "state" and isinstance(item, str):
            converted[key] = item.removeprefix("TASK_STATE_").lower().replace("_", "-")
        else:
            converted[key] = _legacy_values(item)
    if "parts" in converted:
        converted["parts"] = [
            {"kind": "data" if "data" in part else "text", **part} for part in converted["parts"]
        ]
    if "messageId" in converted:
        converted["kind"] = "message"
    return converted
