"""Remote models on OpenAI-compatible servers: vLLM, SGLang, llama.cpp, `transformers serve`.

`OpenAIEndpointModel` is langchain-openai's `BaseChatOpenAI` with what open-model servers need on
top. We build on it rather than on our own client because the OpenAI wire has many details that
a well-kept client already gets right and keeps right as servers change (streamed tool-call
deltas by index, usage in the last stream chunk, retries with backoff on connection errors and
429/5xx, timeouts, keys), and because `BaseChatOpenAI` (unlike `ChatOpenAI`) sends `max_tokens`,
which every one of these servers reads. What it adds:

- the model name the server serves (`ServedModel`: THREADLOOM_ENDPOINT_MODEL, or the one model
  at `/v1/models`), so servers pinned to one model do not refuse the request;
- tool-call markup a server leaves in the text (`<tool_call>...</tool_call>` from `transformers
  serve`, or vLLM without `--tool-call-parser`) is parsed with our own parsers, streamed as well
  as not, so markup never reaches the user; such replies are marked (`response_metadata
  ["tool_call_markup"]`) and sent back in later requests as the model wrote them, text and
  markup in `content`, because such a server renders history `tool_calls` without the text
  beside them (`transformers serve` drops it), and the model then loses its own reasoning;
- `tool_choice` auto / required / none / a named tool, checked against the bound tools;
- sampling options the OpenAI client has no parameter for (`top_k`, `repetition_penalty`, which
  vLLM, SGLang and llama.cpp read) travel in the body; only options that were set are sent,
  because `transformers serve` refuses any field outside the OpenAI schema;
- every failure surfaces as `EndpointError`, saying what to check.

Example:
    >>> model = make_openai_chat_model(spec)  # spec.endpoint_url = "http://127.0.0.1:8000"
    >>> model.bind_tools([calculator]).invoke("What is 17*23?").tool_calls
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_openai.chat_models.base import BaseChatOpenAI
from pydantic import ConfigDict, Field

from threadloom.models.endpoint_errors import (
    error_detail,
    generation_error,
    status_error,
    timeout_error,
    unreachable_error,
)
from threadloom.models.markup_format import markup_format
from threadloom.models.reply_chunks import TextChunks
from threadloom.models.served_model import ServedModel, api_base
from threadloom.models.tool_calls import parse_reply
from threadloom.models.tool_calls.writing import write_calls
from threadloom.models.tool_choice import bind_wire_tools

if TYPE_CHECKING:  # the factory imports this module when it builds such a model
    from threadloom.models.factory import ModelSpec

__all__ = ["OpenAIEndpointModel", "make_openai_chat_model"]

# Request fields the OpenAI client takes by name; any other goes in its `extra_body`.
_CLIENT_FIELDS = frozenset(
    inspect.signature(openai.resources.chat.completions.Completions.create).parameters
) - {"self"}
# Sent as the key when none is configured: the client needs one, keyless servers ignore it.
_NO_KEY = "EMPTY"
# Marks a reply whose calls were read from markup in its text; the value is the format.
MARKUP_KEY = "tool_call_markup"


def make_openai_chat_model(spec: ModelSpec) -> OpenAIEndpointModel:
    """The chat model for the server at `spec.endpoint_url`, its model name looked up once.

    Without `spec.endpoint_model` this asks the server's `/v1/models` (see `ServedModel`);
    raises `EndpointError` when the server answers but offers no model that fits.
    """
    assert spec.endpoint_url, "an OpenAI-compatible endpoint needs its URL"
    served = ServedModel(
        spec.endpoint_url,
        spec.endpoint_model,
        api_key=spec.endpoint_api_key,
        preferred=spec.model,
        timeout_s=spec.endpoint_timeout_s,
    )
    served.check_at_start_up()
    return OpenAIEndpointModel(
        served=served,
        model_name=served.known or spec.model,
        base_url=api_base(spec.endpoint_url),
        api_key=spec.endpoint_api_key or _NO_KEY,
        timeout=spec.endpoint_timeout_s,
        max_retries=spec.endpoint_max_retries,
        max_tokens=spec.max_new_tokens,
        temperature=spec.temperature,
        markup_format=markup_format(spec.tool_call_format, [served.known, spec.model]),
    )


class OpenAIEndpointModel(BaseChatOpenAI):
    """`BaseChatOpenAI` for an open-model server: served name, markup parsing, typed errors."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    served: ServedModel = Field(exclude=True, repr=False)
    markup_format: str = "hermes"
    """The tool-call markup read out of `content` (a name from `tool_calls.FORMATS`, or "none")."""
    top_k: int | None = None
    repetition_penalty: float | None = None
    stream_usage: bool | None = True

    @property
    def _llm_type(self) -> str:
        return "threadloom-openai-endpoint"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; `tool_choice` is auto / required (or "any", True) / none / a tool's name."""
        return bind_wire_tools(self, tools, tool_choice, **kwargs)

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        extra = {name: kwargs.pop(name) for name in list(kwargs) if name not in _CLIENT_FIELDS}
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        payload["model"] = self.served.name()
        messages = self._convert_input(input_).to_messages()
        sent = zip(messages, payload["messages"], strict=True)
        payload["messages"] = [_as_written(message, wire) for message, wire in sent]
        own = {"top_k": self.top_k, "repetition_penalty": self.repetition_penalty}
        extra_body = {
            **{name: value for name, value in own.items() if value is not None},
            **(payload.get("extra_body") or {}),
            **extra,
        }
        if extra_body:
            payload["extra_body"] = extra_body
        return payload

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._endpoint_errors():
            return super()._generate(messages, stop, run_manager, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await self._served_name()
        with self._endpoint_errors():
            return await super()._agenerate(messages, stop, run_manager, **kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = TextChunks(self.markup_format)
        with self._endpoint_errors():
            for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                yield from _without_markup(chunk, text, self.markup_format)
        yield from _generation_chunks(text.finish(), self.markup_format)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        await self._served_name()
        text = TextChunks(self.markup_format)
        with self._endpoint_errors():
            async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
                for piece in _without_markup(chunk, text, self.markup_format):
                    yield piece
        for piece in _generation_chunks(text.finish(), self.markup_format):
            yield piece

    def _create_chat_result(
        self, response: dict | openai.BaseModel, generation_info: dict | None = None
    ) -> ChatResult:
        result = super()._create_chat_result(response, generation_info)
        result.generations = [
            ChatGeneration(
                message=_parsed_message(generation.message, self.markup_format),
                generation_info=generation.generation_info,
            )
            for generation in result.generations
        ]
        return result

    async def _served_name(self) -> None:
        # Looked up off the event loop, and only when start-up could not reach the server.
        if self.served.known is None:
            with self._endpoint_errors():
                await asyncio.to_thread(self.served.name)

    @contextmanager
    def _endpoint_errors(self) -> Iterator[None]:
        where = f"at {self.served.endpoint_url}"
        try:
            yield
        except openai.APITimeoutError as exc:
            raise timeout_error(where, exc) from exc
        except openai.APIConnectionError as exc:
            raise unreachable_error(where, _cause(exc)) from exc
        except openai.APIStatusError as exc:
            detail = error_detail(exc.body) or exc.message
            raise status_error(exc.status_code, detail, where, self.served.offered) from exc
        except openai.APIError as exc:  # an error event in the middle of a stream
            raise generation_error(where, error_detail(exc.body) or exc.message) from exc


def _cause(exc: BaseException) -> object:
    """The transport failure under the client's generic "Connection error."."""
    return exc.__cause__ or exc


def _without_markup(
    chunk: ChatGenerationChunk, text: TextChunks, fmt: str
) -> list[ChatGenerationChunk]:
    """`chunk` with its text run through the markup splitter: visible text, reasoning and
    parsed calls come out (now or once their markup is complete); everything else the server
    sent with the text (native tool-call deltas, usage, finish reason) is kept."""
    message = chunk.message
    content = message.content if isinstance(message.content, str) else ""
    if not content:
        return [chunk]
    parsed = text.feed(content)
    rest = message.model_copy(update={"content": ""})
    carries_more = bool(
        getattr(rest, "tool_call_chunks", None)
        or getattr(rest, "usage_metadata", None)
        or chunk.generation_info
    )
    out = _generation_chunks(parsed, fmt, message.id)
    if carries_more:
        out.append(ChatGenerationChunk(message=rest, generation_info=chunk.generation_info))
    return out


def _generation_chunks(
    chunks: list[AIMessageChunk], fmt: str, message_id: str | None = None
) -> list[ChatGenerationChunk]:
    """Parsed chunks under the server's message id; those with calls marked as read from text."""
    out = []
    for chunk in chunks:
        update: dict[str, Any] = {"id": message_id} if message_id else {}
        if chunk.tool_call_chunks:
            update["response_metadata"] = {**chunk.response_metadata, MARKUP_KEY: fmt}
        out.append(ChatGenerationChunk(message=chunk.model_copy(update=update)))
    return out


def _parsed_message(message: BaseMessage, fmt: str) -> BaseMessage:
    """A whole reply with tool-call markup in its text turned into tool calls."""
    if not isinstance(message, AIMessage) or not isinstance(message.content, str):
        return message
    reply = parse_reply(message.content, fmt)
    if reply.content == message.content and not reply.reasoning:
        return message
    extra = dict(message.additional_kwargs)
    if reply.reasoning:
        extra["reasoning_content"] = reply.reasoning
    metadata = dict(message.response_metadata)
    if reply.tool_calls or reply.invalid_tool_calls:
        metadata[MARKUP_KEY] = fmt
    return message.model_copy(
        update={
            "content": reply.content,
            "tool_calls": [*message.tool_calls, *reply.tool_calls],
            "invalid_tool_calls": [*message.invalid_tool_calls, *reply.invalid_tool_calls],
            "additional_kwargs": extra,
            "response_metadata": metadata,
        }
    )


def _as_written(message: BaseMessage, sent: dict[str, Any]) -> dict[str, Any]:
    """The request's dict for `message`: a reply whose calls were read from its text goes back
    as that text (the calls written in their markup again), without `tool_calls`."""
    fmt = message.response_metadata.get(MARKUP_KEY)
    if not isinstance(message, AIMessage) or not fmt or not message.tool_calls:
        return sent
    parts = [message.text, write_calls(message.tool_calls, fmt)]
    written = {key: value for key, value in sent.items() if key != "tool_calls"}
    written["content"] = "\n".join(part for part in parts if part)
    return written
