"""Remote models on Hugging Face: Inference Endpoints (`*.huggingface.cloud`) and HF inference.

The "huggingface" endpoint kind (see `models.factory`): `ChatHuggingFace(HuggingFaceEndpoint)`,
which speaks through `huggingface_hub`'s client. Open-model servers (vLLM, SGLang, llama.cpp,
`transformers serve`) are the "openai" kind, in `models.openai_endpoint`. Upstream
langchain-huggingface 1.2 falls short on an OpenAI-compatible route; `EndpointChatModel` fills
those gaps in a small subclass:

- the served model name is sent as `model` (THREADLOOM_ENDPOINT_MODEL, or the one the endpoint
  lists at `/v1/models`; upstream sends `"dummy"` for a URL, and vLLM refuses that);
- `temperature=0` is kept (upstream drops falsy values, so servers sample at their default);
- `top_p`, `seed` and the penalties set on the model reach the request; options the client has
  no parameter for (`repetition_penalty`, `top_k`, ...) travel in the body instead of raising;
- tool arguments returned as objects (TGI before 3.1) are read like JSON strings;
- `tool_choice` may be auto / required / none / a named tool with several tools bound;
- streams ask for usage (`stream_options.include_usage`), so streamed replies carry token counts;
- network and HTTP failures surface as `EndpointError`, saying what to check.

Example:
    >>> model = make_endpoint_chat_model(spec)  # spec.endpoint_url = "http://tgi:8080"
    >>> model.bind_tools([calculator]).invoke("What is 17*23?").tool_calls
"""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx
from huggingface_hub import InferenceClient
from huggingface_hub.errors import OfflineModeIsEnabled
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_huggingface import ChatHuggingFace, HuggingFaceEndpoint

from threadloom.models.endpoint_errors import EndpointError, endpoint_error
from threadloom.models.served_model import ServedModel
from threadloom.models.tool_choice import bind_wire_tools

if TYPE_CHECKING:  # the factory imports this module when it builds such a model
    from threadloom.models.factory import ModelSpec

__all__ = ["EndpointChatModel", "EndpointError", "make_endpoint_chat_model"]

# Options `InferenceClient.chat_completion` takes by name; any other goes in its `extra_body`.
_CLIENT_OPTIONS = frozenset(inspect.signature(InferenceClient.chat_completion).parameters) - {
    "self",
    "messages",
}


def make_endpoint_chat_model(spec: ModelSpec) -> BaseChatModel:
    """A chat model served remotely: `spec.endpoint_url` (an HF endpoint) or else the hub id.

    Without `spec.endpoint_model`, the endpoint's `/v1/models` is asked for the model name (an
    unreachable endpoint then leaves it `spec.model`: TGI answers any name); an unreachable
    endpoint raises `EndpointError` at call time.
    """
    model_id = spec.model
    if spec.endpoint_url:
        target: dict[str, Any] = {"endpoint_url": spec.endpoint_url}
        target.update(_token_headers(spec.endpoint_url, spec.hf_token))
        served = ServedModel(spec.endpoint_url, spec.endpoint_model, api_key=spec.hf_token)
        if spec.endpoint_model is None:
            served.check_at_start_up()
        model_id = served.known or spec.model
    else:
        target = {"repo_id": spec.model}
    endpoint = HuggingFaceEndpoint(
        **target,
        huggingfacehub_api_token=spec.hf_token,
        max_new_tokens=spec.max_new_tokens,
        temperature=spec.temperature,
        # Upstream defaults (0.95) would silently change sampling; send only what was asked for.
        top_p=None,
        typical_p=None,
    )
    return EndpointChatModel(
        llm=endpoint,
        model_id=model_id,
        temperature=spec.temperature,
        max_tokens=spec.max_new_tokens,
    )


class EndpointChatModel(ChatHuggingFace):
    """`ChatHuggingFace` over an OpenAI-compatible chat-completions endpoint, gaps filled."""

    repetition_penalty: float | None = None
    """Sent as `repetition_penalty` (vLLM reads it; TGI's chat route reads `presence_penalty`)."""
    stream_usage: bool | None = True

    def _resolve_model_id(self) -> None:
        # Upstream replaces model_id by the endpoint URL, which the client then sends as "dummy".
        if not self.model_id:
            super()._resolve_model_id()

    @property
    def _default_params(self) -> dict[str, Any]:
        params = super()._default_params
        sampling = {
            "top_p": self.top_p,
            "seed": self.seed,
            "presence_penalty": self.presence_penalty,
            "frequency_penalty": self.frequency_penalty,
        }
        params.update({key: value for key, value in sampling.items() if value is not None})
        return params

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable | BaseTool],
        *,
        tool_choice: dict | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools; `tool_choice` is auto / required (or "any", True) / none / a tool's name."""
        return bind_wire_tools(self, tools, tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        stream: bool | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        options = self._request_options(kwargs)
        with self._endpoint_errors():
            return super()._generate(messages, stop, run_manager, stream, **options)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        stream: bool | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        options = self._request_options(kwargs)
        with self._endpoint_errors():
            return await super()._agenerate(messages, stop, run_manager, stream, **options)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        options = self._request_options(kwargs)
        with self._endpoint_errors():
            yield from super()._stream(
                messages, stop, run_manager, stream_usage=stream_usage, **options
            )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        *,
        stream_usage: bool | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        options = self._request_options(kwargs)
        with self._endpoint_errors():
            async for chunk in super()._astream(
                messages, stop, run_manager, stream_usage=stream_usage, **options
            ):
                yield chunk

    def _create_chat_result(self, response: dict) -> ChatResult:
        return super()._create_chat_result(_with_json_arguments(response))

    def _request_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Call options as `chat_completion` takes them: unknown names move into `extra_body`.

        Idempotent, as upstream's `_generate` hands its options on to `_stream`.
        """
        options = dict(kwargs)
        named = {key: options.pop(key) for key in list(options) if key not in _CLIENT_OPTIONS}
        defaults = {"repetition_penalty": self.repetition_penalty}
        extra_body = {
            **{key: value for key, value in defaults.items() if value is not None},
            **(options.get("extra_body") or {}),
            **named,
        }
        if extra_body:
            options["extra_body"] = extra_body
        return options

    @contextmanager
    def _endpoint_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.HTTPError as exc:  # huggingface_hub's errors derive from it too
            raise endpoint_error(exc, self._describe_endpoint()) from exc
        except OfflineModeIsEnabled as exc:
            # huggingface_hub refuses every request in offline mode, even to a loopback server.
            raise EndpointError(
                f"Cannot call the model endpoint {self._describe_endpoint()}: HF_HUB_OFFLINE is "
                "set, and huggingface_hub then refuses every request, even to a local TGI or "
                "vLLM server. Unset HF_HUB_OFFLINE to use a remote endpoint."
            ) from exc

    def _describe_endpoint(self) -> str:
        if self.llm.endpoint_url:
            return f"at {self.llm.endpoint_url}"
        return f"(Hugging Face inference, model {self.model_id})"


def _token_headers(endpoint_url: str, token: str | None) -> dict[str, Any]:
    """Dedicated HF Inference Endpoints need the token; upstream only sends it to hf.co hosts."""
    host = (urlparse(endpoint_url).hostname or "").lower()
    if token and host.endswith(".huggingface.cloud"):
        return {"server_kwargs": {"headers": {"authorization": f"Bearer {token}"}}}
    return {}


def _with_json_arguments(response: Mapping[str, Any]) -> dict[str, Any]:
    """The completion with each tool call's arguments as a JSON string (TGI < 3.1 sends objects)."""

    def fix_call(call: Mapping[str, Any]) -> Mapping[str, Any]:
        arguments = call["function"]["arguments"]
        if isinstance(arguments, str):
            return call
        function = {**call["function"], "arguments": json.dumps(arguments, ensure_ascii=False)}
        return {**call, "function": function}

    def fix_choice(choice: Mapping[str, Any]) -> Mapping[str, Any]:
        calls = choice["message"].get("tool_calls")
        if not calls:
            return choice
        return {
            **choice,
            "message": {**choice["message"], "tool_calls": list(map(fix_call, calls))},
        }

    return {**response, "choices": [fix_choice(choice) for choice in response["choices"]]}
