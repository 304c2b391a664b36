"""`LocalChatModel`: any transformers causal LM as a LangChain chat model that can run an agent.

The prompt is the model's own chat template with the tools passed in; decoding runs on a bounded
pool of worker threads and streams token by token; tool-call markup is parsed out of the text in
the format the template teaches (or ReAct prompting where the template has no tool support).
Build one with `models.loading.load_local_model`.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from threadloom.models.generation import Generator, SamplingParams
from threadloom.models.generation_observer import first_token_listener
from threadloom.models.generation_pool import GenerationPool
from threadloom.models.output_constraint import (
    OutputConstraints,
    response_schema,
    tool_choice_mode,
)
from threadloom.models.prompt import Prompt, PromptBuilder
from threadloom.models.reply_chunks import ReplyChunks
from threadloom.models.structured_output import structured_runnable
from threadloom.models.token_mask import Grammar
from threadloom.models.tool_calls import NO_TOOLS

logger = logging.getLogger(__name__)

_SAMPLING_FIELDS = ("max_new_tokens", "temperature", "top_p", "repetition_penalty", "seed")


class LocalChatModel(BaseChatModel):
    """A chat model over a local causal LM, its tokenizer and chat template.

    Sampling fields can be overridden per call: `model.invoke(messages, temperature=0.7,
    max_new_tokens=64, seed=1)`. `temperature=0` decodes greedily.

    Example:
        >>> model = load_local_model("bundled")
        >>> agent_model = model.bind_tools([calculator])
        >>> async for chunk in agent_model.astream("What is 25^0.43?"):
        ...     print(chunk.content, chunk.tool_call_chunks)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model_name: str = "local"
    tokenizer: Any = Field(exclude=True, repr=False)
    generator: Generator = Field(exclude=True, repr=False)
    tool_call_format: str = "auto"
    # Extra chat-template variables, e.g. {"enable_thinking": False} for Qwen3.
    chat_template_kwargs: dict[str, Any] = Field(default_factory=dict)
    max_new_tokens: int = Field(256, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    repetition_penalty: float = Field(1.0, gt=0.0)
    seed: int | None = None
    max_concurrent: int = Field(1, ge=1, description="generations decoding at the same time")
    # A streamed reply comes in chunks at most this often for each reply decoding at the time
    # (the first token at once): each chunk costs the event loop the same, whatever its length
    # (see `GenerationPool.astream_batches`).
    stream_interval_ms: float = Field(15.0, ge=0.0, le=1000.0)

    _pool: GenerationPool = PrivateAttr()
    _prompts: PromptBuilder = PrivateAttr()
    _constraints: OutputConstraints = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        super().model_post_init(context)
        self._prompts = PromptBuilder(
            self.tokenizer, self.tool_call_format, self.chat_template_kwargs
        )
        self._pool = GenerationPool(self.generator, self.max_concurrent)
        eos = getattr(self.generator, "eos_token_ids", frozenset())
        self._constraints = OutputConstraints(self.tokenizer, self._prompts.stop_token_ids | eos)

    @property
    def _llm_type(self) -> str:
        return "threadloom-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "tool_call_format": self._prompts.fmt,
            **{name: getattr(self, name) for name in _SAMPLING_FIELDS},
        }

    @property
    def resolved_tool_call_format(self) -> str:
        """The format in use: the override, or what the chat template teaches."""
        return self._prompts.fmt

    def render_prompt(
        self, messages: Sequence[BaseMessage], tools: Sequence[Any] = ()
    ) -> str:
        """The prompt text a request with these messages and tools decodes from (for debugging)."""
        schemas = [convert_to_openai_tool(t) for t in tools]
        return self.tokenizer.decode(self._prompts.build(messages, schemas).input_ids)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer `tools` to the model: their schemas go into the chat template's tool section.

        The reply is decoded under a grammar, in the template's own call markup: with
        `tool_choice` "auto" (the default) any call names a bound tool with valid arguments;
        "required" / "any" / True: one or more such calls; a tool's name: exactly one call of
        it; "none" / False: no call at all (and no tools offered).

        Raises:
            ValueError: `tool_choice` names a tool that is not among `tools`.
        """
        schemas = [convert_to_openai_tool(t) for t in tools]
        mode = tool_choice_mode(tool_choice, schemas)
        if mode == "none":
            return self.bind(tools=[], tool_choice="none", **kwargs)
        return self.bind(tools=schemas, tool_choice=mode, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: str = "json_schema",
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers as an instance of `schema` (Pydantic class, TypedDict or JSON schema).

        `method="json_schema"` decodes JSON valid against the schema; "function_calling"
        forces one call of a tool made from it; "json_mode" any JSON object. See
        `models.structured_output`.

        Example:
            >>> class Person(BaseModel):
            ...     name: str
            ...     age: int
            >>> model.with_structured_output(Person).invoke("Vittoria Ceretti is 28.")
            Person(name='Vittoria Ceretti', age=28)
        """
        kwargs.pop("strict", None)  # the grammar is always strict
        if kwargs:
            raise ValueError(f"Unsupported arguments for with_structured_output: {kwargs}")
        return structured_runnable(self, schema, method=method, include_raw=include_raw)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        events = self._pool.stream(request.input_ids, request.params)
        on_first_token = first_token_listener.get()
        try:
            for event in events:
                if on_first_token is not None:
                    on_first_token()
                    on_first_token = None
                for chunk in _generation_chunks(request.reply.add(event)):
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if request.reply.done:
                    break
        finally:
            events.close()  # stops the worker when the consumer leaves early
        yield from _generation_chunks(request.reply.finish())

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        batches = self._pool.astream_batches(
            request.input_ids, request.params, self.stream_interval_ms / 1000
        )
        on_first_token = first_token_listener.get()
        try:
            async for batch in batches:
                if on_first_token is not None:
                    on_first_token()
                    on_first_token = None
                # The tokens that came since the loop last looked, as one chunk: each chunk
                # costs callbacks, a stream event and an SSE frame, whatever its length.
                shown: list[AIMessageChunk] = []
                for event in batch:
                    shown += request.reply.add(event)
                    if request.reply.done:
                        break
                if shown:
                    chunk = ChatGenerationChunk(message=reduce(operator.add, shown))
                    # Given a run manager (an invoke that is not streamed), report the tokens
                    # as LangChain's streaming path does: callbacks see time to first token.
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if request.reply.done:
                    break
        finally:
            await batches.aclose()  # stops the worker when the task is cancelled
        for chunk in _generation_chunks(request.reply.finish()):
            yield chunk

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> _Request:
        tools = kwargs.get("tools") or []
        prompt = self._prompts.build(messages, tools)
        grammar, fmt = self._grammar(prompt, tools, kwargs)
        sampling = {name: kwargs.get(name, getattr(self, name)) for name in _SAMPLING_FIELDS}
        params = SamplingParams(
            **sampling, stop_token_ids=self._prompts.stop_token_ids, grammar=grammar
        )
        reply = ReplyChunks(
            self.tokenizer,
            prompt.input_ids,
            fmt,
            stop=[*(stop or ()), *prompt.stop],
            model_name=self.model_name,
            in_reasoning=prompt.in_reasoning,
        )
        logger.debug(
            "generate model=%s prompt_tokens=%d fmt=%s", self.model_name, len(prompt.input_ids),
            prompt.fmt,
        )
        return _Request(prompt.input_ids, params, reply)

    def _grammar(
        self, prompt: Prompt, tools: list[dict[str, Any]], kwargs: dict[str, Any]
    ) -> tuple[Grammar | None, str]:
        """The grammar the reply decodes under, and the markup format to read it with."""
        response_format = kwargs.get("response_format")
        schema = response_schema(response_format) if response_format else None
        if schema is not None:  # the reply is the JSON itself, never call markup
            return self._constraints.for_json(schema, in_reasoning=prompt.in_reasoning), NO_TOOLS
        choice = kwargs.get("tool_choice")
        if not tools and choice not in ("none", False):
            return None, prompt.fmt
        mode = tool_choice_mode(choice, tools)
        grammar = self._constraints.for_tools(
            prompt.fmt, tools, mode, in_reasoning=prompt.in_reasoning
        )
        return grammar, prompt.fmt


@dataclass
class _Request:
    input_ids: list[int]
    params: SamplingParams
    reply: ReplyChunks


def _generation_chunks(chunks: list[AIMessageChunk]) -> Iterator[ChatGenerationChunk]:
    for chunk in chunks:
        yield ChatGenerationChunk(message=chunk)
