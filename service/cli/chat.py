"""`threadloom chat`: talk to a running server from a terminal, through the public API.

At a terminal, tokens stream as they come, tool calls and their results show as one line each,
an interrupt (a tool call waiting for approval) is answered at the prompt, and `/new`,
`/threads`, `/history`, `/quit` manage the conversation. With standard input not a terminal
it reads one message per line and prints each answer as plain text, so it can be scripted:

    echo "compute 17*23" | threadloom chat
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import APIError

HELP = "commands: /new (a new thread), /threads, /history, /quit"
STREAM_MODES = ["messages-tuple", "updates"]


@dataclass
class Turn:
    """What one run produced, as far as the chat shows it."""

    answer: str = ""
    interrupt: Any = None
    error: str = ""


class Chat:
    """A conversation with one assistant on one thread of a server."""

    def __init__(
        self, client: SyncLangGraphClient, assistant: str, thread_id: str | None, out: TextIO
    ) -> None:
        self.client = client
        self.assistant = assistant
        self.thread_id = thread_id
        self.out = out
        self.live = False  # print tokens and tool lines as they stream
        # Whether streamed text left the cursor mid-line: the answer's last token carries no
        # newline, and the next prompt must not run on after it.
        self.mid_line = False

    def ask(self, text: str) -> Turn:
        return self._run({"messages": [{"role": "user", "content": text}]}, None)

    def resume(self, value: Any) -> Turn:
        return self._run(None, {"resume": value})

    def _run(self, input_: dict[str, Any] | None, command: dict[str, Any] | None) -> Turn:
        if self.thread_id is None:
            self.thread_id = self.client.threads.create()["thread_id"]
        turn = Turn()
        parts = self.client.runs.stream(
            self.thread_id,
            self.assistant,
            input=input_,
            command=command,  # type: ignore[arg-type]
            stream_mode=STREAM_MODES,  # type: ignore[arg-type]
        )
        for part in parts:
            self._take(part.event, part.data, turn)
        if self.mid_line:
            self.out.write("\n")
            self.mid_line = False
        return turn

    def _take(self, event: str, data: Any, turn: Turn) -> None:
        if event == "messages":
            chunk, content = data[0], data[0].get("content")
            if chunk.get("type") in ("AIMessageChunk", "ai") and isinstance(content, str):
                self._show(content)
        elif event == "updates":
            for node, update in (data or {}).items():
                if node == "__interrupt__":
                    turn.interrupt = update[0].get("value") if update else None
                    continue
                messages = update.get("messages", []) if isinstance(update, dict) else []
                for message in messages:
                    self._message(message, turn)
        elif event == "error":
            turn.error = f"{data.get('error', 'Error')}: {data.get('message', data)}"

    def _message(self, message: dict[str, Any], turn: Turn) -> None:
        if message.get("type") == "ai":
            for call in message.get("tool_calls") or []:
                self._line(f"  [tool] {call['name']}({format_args(call.get('args'))})")
            if not message.get("tool_calls"):
                turn.answer = str(message.get("content", ""))
        elif message.get("type") == "tool":
            self._line(f"  [result] {one_line(str(message.get('content', '')))}")

    def _show(self, text: str) -> None:
        if self.live and text:
            self.out.write(text)
            self.out.flush()
            self.mid_line = not text.endswith("\n")

    def _line(self, text: str) -> None:
        if self.live:
            self.out.write(f"\n{text}\n")
            self.out.flush()
            self.mid_line = False

    def threads(self) -> list[str]:
        found = self.client.threads.search(limit=10, sort_by="updated_at", sort_order="desc")
        return [f"{t['thread_id']}  {t['status']:<11} {thread_title(t)}" for t in found]

    def history(self) -> list[str]:
        if self.thread_id is None:
            return []
        states = self.client.threads.get_history(self.thread_id, limit=20)
        return [
            f"{s['checkpoint']['checkpoint_id']}  step {s['metadata'].get('step')}  "
            f"{len(s['values'].get('messages', []))} messages"
            for s in states
        ]


def format_args(args: Any) -> str:
    if isinstance(args, dict):
        return ", ".join(f"{key}={value!r}" for key, value in args.items())
    return json.dumps(args)


def one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def thread_title(thread: dict[str, Any]) -> str:
    title = (thread.get("metadata") or {}).get("title")
    if title:
        return str(title)
    messages = (thread.get("values") or {}).get("messages") or []
    first = next((m for m in messages if m.get("type") == "human"), None)
    return one_line(str(first["content"]), 60) if first else ""


def decision(answer: str) -> Any:
    """The resume value for an answer at the approval prompt: `y`, `n [reason]` or
    `e <json>` (the edited calls)."""
    word, _, rest = answer.strip().partition(" ")
    if word.lower() in ("y", "yes", ""):
        return {"approved": True}
    if word.lower() in ("n", "no"):
        return {"approved": False, "reason": rest.strip() or "Rejected at the terminal."}
    if word.lower() in ("e", "edit"):
        return json.loads(rest)
    raise ValueError("answer y, n [reason] or e <json of the edited calls>")


def interactive(chat: Chat, read: Callable[[str], str], out: TextIO) -> None:
    chat.live = True
    out.write(f"threadloom chat — assistant {chat.assistant}. {HELP}\n")
    for line in _lines(read, "you> "):
        if line in ("/quit", "/exit"):
            return
        if line == "/new":
            chat.thread_id = None
            out.write("(a new thread starts with your next message)\n")
        elif line == "/threads":
            out.write("\n".join(chat.threads() or ["(no threads)"]) + "\n")
        elif line == "/history":
            out.write("\n".join(chat.history() or ["(no history yet)"]) + "\n")
        elif line.startswith("/"):
            out.write(f"unknown command {line}; {HELP}\n")
        else:
            out.write("assistant> ")
            _converse(chat, chat.ask(line), read, out)


def _converse(chat: Chat, turn: Turn, read: Callable[[str], str], out: TextIO) -> None:
    while True:
        if turn.error:
            out.write(f"error: {turn.error}\n")
        if turn.interrupt is None:
            return
        out.write(f"the run waits for approval:\n{json.dumps(turn.interrupt, indent=2)}\n")
        while True:
            try:
                value = decision(read("approve? [y / n reason / e json]> "))
                break
            except (ValueError, json.JSONDecodeError) as exc:
                out.write(f"{exc}\n")
        out.write("assistant> ")
        turn = chat.resume(value)


def scripted(chat: Chat, lines: Iterator[str], out: TextIO) -> int:
    """One message per input line, one plain answer per output line; 1 if any run failed."""
    status = 0
    for line in lines:
        if not line.strip():
            continue
        turn = chat.ask(line.strip())
        if turn.error:
            sys.stderr.write(f"error: {turn.error}\n")
            status = 1
        elif turn.interrupt is not None:
            sys.stderr.write(f"the run waits for approval: {json.dumps(turn.interrupt)}\n")
            status = 1
        out.write(one_line(turn.answer, 10_000) + "\n")
        out.flush()
    return status


def _lines(read: Callable[[str], str], prompt: str) -> Iterator[str]:
    while True:
        try:
            line = read(prompt).strip()
        except EOFError:
            return
        if line:
            yield line


def run_chat(url: str, assistant: str, thread_id: str | None, api_key: str | None) -> int:
    """The `threadloom chat` command."""
    client = get_sync_client(url=url, api_key=api_key)
    chat = Chat(client, assistant, thread_id, sys.stdout)
    try:
        if sys.stdin.isatty():
            import readline  # noqa: F401  (line editing and history for input())

            interactive(chat, input, sys.stdout)
            return 0
        return scripted(chat, iter(sys.stdin), sys.stdout)
    except APIError as exc:
        status = getattr(exc, "status_code", None)
        sys.stderr.write(f"error: the server at {url} answered {status or ''}: {exc}\n")
    except httpx.TransportError as exc:
        sys.stderr.write(f"error: cannot reach {url}: {exc}\n")
    except KeyboardInterrupt:
        return 130
    return 1
