"""What the UIs check before they render an interrupt with buttons, written from their
documented types: Agent Inbox's `HumanInterrupt` (also agent-chat-ui before 1.0) and LangChain
1.0's human-in-the-loop request (agent-chat-ui 1.0). A value failing these is shown as a
read-only table."""

from __future__ import annotations

from typing import Any


def is_agent_inbox_interrupt(value: Any) -> bool:
    """A `HumanInterrupt`, alone or first in a list: `action_request` {action, args}, the four
    `config` flags, a `description`."""
    item = value[0] if isinstance(value, list) and value else value
    if not isinstance(item, dict):
        return False
    request, config = item.get("action_request"), item.get("config")
    return (
        isinstance(request, dict)
        and isinstance(request.get("action"), str)
        and isinstance(request.get("args"), dict)
        and isinstance(config, dict)
        and all(
            isinstance(config.get(flag), bool)
            for flag in ("allow_accept", "allow_edit", "allow_respond", "allow_ignore")
        )
        and isinstance(item.get("description"), str | None)
    )


def is_hitl_request(value: Any) -> bool:
    """A non-empty `action_requests` of {name, args} and `review_configs` of {action_name,
    allowed_decisions}."""
    if not isinstance(value, dict):
        return False
    requests, configs = value.get("action_requests"), value.get("review_configs")
    return (
        isinstance(requests, list)
        and bool(requests)
        and all(
            isinstance(r, dict)
            and isinstance(r.get("name"), str)
            and isinstance(r.get("args"), dict)
            for r in requests
        )
        and isinstance(configs, list)
        and bool(configs)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("action_name"), str)
            and set(c.get("allowed_decisions") or []) <= {"approve", "edit", "reject"}
            and bool(c.get("allowed_decisions"))
            for c in configs
        )
    )
