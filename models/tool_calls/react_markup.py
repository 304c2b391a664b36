"""The ReAct-JSON reply grammar, for models whose chat template knows no tools.

The model is prompted (see ``models.react``) to write::

    Thought: what to do next
    Action:
    ```json
    {"action": "calculator", "action_input": {"expression": "2+2"}}
    ```

and stop before ``Observation:``; or ``Final Answer: ...`` when done. The thought is
reasoning, the action a tool call, the final answer the visible text. The classic
``Action: name`` / ``Action Input: {...}`` pair is read too.
"""

from __future__ import annotations

import json
from typing import Any

from threadloom.models.tool_calls.json_calls import call_piece, invalid_piece, name_in_raw
from threadloom.models.tool_calls.pieces import Piece
from threadloom.models.tool_calls.syntax import Block, Syntax, Thinking

ACTION = "Action:"
ACTION_INPUT = "Action Input:"
FINAL_ANSWER = "Final Answer:"
OBSERVATION = "Observation:"
THOUGHT = "Thought:"


def _action_end(body: str) -> tuple[int, int] | None:
    """An action ends where the next one starts; the last runs to the end of the reply, as the
    model stops at ``Observation:``."""
    at = body.find(ACTION)
    return None if at < 0 else (at, at)


def _marker_only(body: str) -> tuple[int, int]:
    return 0, 0


def _no_pieces(body: str, closed: bool) -> list[Piece]:
    return []


def parse_action(body: str, closed: bool) -> list[Piece]:
    """The call in an ``Action:`` block; a ``Final Answer`` action is the reply's text."""
    text = body.split(OBSERVATION, 1)[0].strip()
    if not text:
        return [
            invalid_piece(
                None,
                None,
                f"nothing followed {ACTION}; write a JSON blob "
                '{"action": ..., "action_input": {...}}',
            )
        ]
    if ACTION_INPUT in text and not text.startswith(("{", "`")):
        name, _, args = text.partition(ACTION_INPUT)
        blob: Any = {"action": name.strip(), "action_input": _unfence(args)}
    else:
        try:
            blob = json.loads(_unfence(text))
        except json.JSONDecodeError as exc:
            return [
                invalid_piece(
                    name_in_raw(text) or _action_in_raw(text),
                    text,
                    f"the action is not valid JSON: {exc.msg}",
                )
            ]
    if not isinstance(blob, dict) or "action" not in blob:
        return [
            invalid_piece(
                None, text, 'the action must be a JSON object with "action" and "action_input"'
            )
        ]
    name, args = blob.get("action"), blob.get("action_input", {})
    if name == "Final Answer":
        return [Piece("text", text=args if isinstance(args, str) else json.dumps(args))]
    return [call_piece(name, args)]


def _unfence(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else text.removeprefix("```")
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _action_in_raw(text: str) -> str | None:
    start = text.find('"action"')
    if start < 0:
        return None
    rest = text[start + len('"action"') :].lstrip(" :")
    return rest[1:].split('"', 1)[0] if rest.startswith('"') else None


REACT_SYNTAX = Syntax(
    blocks=(
        Block(ACTION, _action_end, parse_action),
        Block(FINAL_ANSWER, _marker_only, _no_pieces),
    ),
    thinking=Thinking(THOUGHT, None, ends_at_blocks=True),
)
