"""LocalChatModel reports its tokens to callbacks when invoked without streaming, as LangChain's
streaming path does, so a tracer sees the time to the first token either way."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from threadloom.models.local import LocalChatModel


class TokenLog(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.events.append("token")

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.events.append("end")


async def test_invoke_reports_each_token_once_before_the_end(
    tiny_chat_model: LocalChatModel,
) -> None:
    log = TokenLog()
    chunks = [chunk async for chunk in tiny_chat_model.astream("Tell me a story")]
    await tiny_chat_model.ainvoke("Tell me a story", {"callbacks": [log]})
    assert log.events[-1] == "end"
    # Not streamed: the model reports the tokens itself, one report per generated chunk.
    assert 0 < log.events.count("token") <= len(chunks)


async def test_streaming_reports_are_not_doubled(tiny_chat_model: LocalChatModel) -> None:
    log = TokenLog()
    chunks = [c async for c in tiny_chat_model.astream("Tell me a story", {"callbacks": [log]})]
    assert log.events.count("token") == len(chunks)


def test_sync_invoke_reports_tokens(tiny_chat_model: LocalChatModel) -> None:
    log = TokenLog()
    tiny_chat_model.invoke("Tell me a story", {"callbacks": [log]})
    assert log.events.count("token") > 0 and log.events[-1] == "end"
