"""What a tool approval asks a human, and the answers it understands, in the shapes the UIs use.

The interrupt's value is one object that every reader finds its part in:
- `tool_calls`: the waiting calls, as the model wrote them (`[{"name", "args", "id"}]`);
- Agent Inbox's `HumanInterrupt` (`langgraph.prebuilt.interrupt`, read by Agent Inbox and
  agent-chat-ui before 1.0): `action_request` `{"action": name, "args": {...}}` of the first
  waiting call, `config` `{"allow_accept", "allow_edit", "allow_respond", "allow_ignore"}`,
  `description`;
- LangChain 1.0's human-in-the-loop request (read by agent-chat-ui 1.0): `action_requests`
  `[{"name", "args", "description"}]`, one per waiting call, and `review_configs`
  `[{"action_name", "allowed_decisions": ["approve", "edit", "reject"]}]`.

`decision_of` turns each UI's answer into the tool runner's own decision (`{"approved": bool,
"reason"}` or a list of edited calls):
- Agent Inbox: `[{"type": "accept" | "edit" | "response" | "ignore", "args": ...}]`. One
  response decides every waiting call: `accept` runs them, `ignore` refuses them, `response`
  refuses them with its text as the reason the model reads, `edit` (`args` `{"action", "args"}`)
  runs the first waiting call with the edited arguments and the others as written;
- agent-chat-ui 1.0: `{"decisions": [{"type": "approve"} | {"type": "reject", "message"} |
  {"type": "edit", "edited_action": {"name", "args"}}]}`, one per waiting call in order (one
  decision for several calls decides them all).
Anything else is returned as it is, for the runner to read or refuse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

ToolCall = dict[str, Any]

INBOX_RESPONSES = frozenset({"accept", "edit", "response", "ignore"})
DECISIONS = ("approve", "edit", "reject")


class InvalidReview(ValueError):
    """A UI's answer in a known shape, but not usable (a wrong type, a missing field)."""


def review_request(waiting: Sequence[ToolCall]) -> dict[str, Any]:
    """The interrupt's value asking a human about the `waiting` calls (see the module)."""
    first = waiting[0]
    return {
        "tool_calls": list(waiting),
        "action_request": {"action": first["name"], "args": first.get("args") or {}},
        "config": {
            "allow_accept": True,
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": "Approve, edit or refuse: " + "; ".join(map(_described, waiting)),
        "action_requests": [
            {"name": call["name"], "args": call.get("args") or {}, "description": _described(call)}
            for call in waiting
        ],
        "review_configs": [
            {"action_name": name, "allowed_decisions": list(DECISIONS)}
            for name in dict.fromkeys(call["name"] for call in waiting)
        ],
    }


def decision_of(answer: Any, waiting: Sequence[ToolCall]) -> Any:
    """The runner's decision for a UI's `answer`, or `answer` itself when no UI shape fits;
    raises `InvalidReview` for a UI answer it cannot apply."""
    if _is_inbox_response(answer):
        return _inbox_decision(answer[0], waiting)
    if isinstance(answer, dict) and set(answer) == {"decisions"}:
        return _decisions(answer["decisions"], waiting)
    return answer


def _is_inbox_response(answer: Any) -> bool:
    return (
        isinstance(answer, list)
        and len(answer) == 1
        and isinstance(answer[0], dict)
        and answer[0].get("type") in INBOX_RESPONSES
        and "name" not in answer[0]
    )


def _inbox_decision(response: dict[str, Any], waiting: Sequence[ToolCall]) -> Any:
    kind, args = response["type"], response.get("args")
    if kind == "accept":
        return {"approved": True}
    if kind == "ignore":
        return {"approved": False, "reason": "ignored"}
    if kind == "response":
        if not isinstance(args, str):
            raise InvalidReview('A "response" needs its text as "args".')
        return {"approved": False, "reason": args}
    if not isinstance(args, dict) or not isinstance(args.get("args"), dict):
        raise InvalidReview('An "edit" needs "args": {"action": ..., "args": {...}}.')
    first, *rest = waiting
    edited = {**first, "name": args.get("action") or first["name"], "args": args["args"]}
    return [edited, *rest]


def _decisions(decisions: Any, waiting: Sequence[ToolCall]) -> Any:
    if not isinstance(decisions, list) or len(decisions) not in (1, len(waiting)):
        raise InvalidReview(
            f'"decisions" must list one decision, or one per waiting call ({len(waiting)}).'
        )
    if not all(isinstance(d, dict) and d.get("type") in DECISIONS for d in decisions):
        raise InvalidReview(f'Each decision needs a "type" among {", ".join(DECISIONS)}.')
    each = decisions * len(waiting) if len(decisions) == 1 else decisions
    if all(d["type"] == "approve" for d in each):
        return {"approved": True}
    if all(d["type"] == "reject" for d in each):
        return {"approved": False, "reason": each[0].get("message")}
    return [_decided_call(call, d) for call, d in zip(waiting, each, strict=True)]


def _decided_call(call: ToolCall, decision: dict[str, Any]) -> ToolCall:
    """One call as a list entry for the runner: kept, edited, or marked refused."""
    if decision["type"] == "approve":
        return call
    if decision["type"] == "reject":
        return {**call, "refused": decision.get("message") or "rejected"}
    edited = decision.get("edited_action")
    if not isinstance(edited, dict) or not isinstance(edited.get("args"), dict):
        raise InvalidReview('An "edit" decision needs "edited_action": {"name", "args"}.')
    return {**call, "name": edited.get("name") or call["name"], "args": edited["args"]}


def _described(call: ToolCall) -> str:
    return f"{call['name']}({json.dumps(call.get('args') or {}, ensure_ascii=False)})"
