"""`load_chat_model(spec)`: the one place that decides between a local model and an endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

if TYPE_CHECKING:  # loading imports torch, which a server on an endpoint never needs
    from threadloom.models.loading import Device, Dtype, Quantization

EndpointKind = Literal["auto", "openai", "huggingface"]
# Hosts of Hugging Face's own inference; every other URL is taken for an OpenAI-compatible server.
_HF_HOSTS = (".huggingface.cloud", "huggingface.co")


@dataclass(frozen=True)
class ModelSpec:
    """Which model to run and how; the model half of the service settings.

    `model` is "bundled", a hub id or a local folder. With `endpoint_url` set, the model is
    served remotely (`endpoint_kind`: an OpenAI-compatible server such as vLLM, or a Hugging
    Face endpoint) and the local-loading fields are unused; `model` then only helps to pick
    the served model and its tool-call markup.
    """

    model: str = "bundled"
    endpoint_url: str | None = None
    endpoint_kind: EndpointKind = "auto"
    endpoint_model: str | None = None
    endpoint_api_key: str | None = None
    endpoint_timeout_s: float = 120.0
    endpoint_max_retries: int = 2
    hf_token: str | None = None
    dtype: Dtype = "auto"
    device: Device = "auto"
    quantization: Quantization = "none"
    trust_remote_code: bool = False
    tool_call_format: str = "auto"
    max_new_tokens: int = 256
    temperature: float = 0.0
    max_concurrent: int = 1  # for models the batching scheduler cannot run
    max_batch_size: int = 8
    max_queue: int = 64
    prefix_cache_bytes: int = 0  # keys and values kept for prefix reuse; 0 keeps none
    torch_threads: int | None = None  # None: torch's own choice
    stream_interval_ms: float = 15.0  # a local model's streamed chunks at most this often


def load_chat_model(spec: ModelSpec) -> BaseChatModel:
    """Build the chat model `spec` describes: an endpoint client, or a model loaded here.

    Example:
        >>> model = load_chat_model(ModelSpec())  # the bundled model, offline
        >>> remote = load_chat_model(ModelSpec(endpoint_url="http://127.0.0.1:8000"))  # vLLM
    """
    if spec.endpoint_url:
        # Imported here: the remote client stacks are not needed to run a local model.
        if endpoint_kind(spec.endpoint_url, spec.endpoint_kind) == "huggingface":
            from threadloom.models.remote import make_endpoint_chat_model

            return make_endpoint_chat_model(spec)
        from threadloom.models.openai_endpoint import make_openai_chat_model

        return make_openai_chat_model(spec)
    # Imported here too: torch and transformers are not needed to read or compare specs.
    from threadloom.models.loading import load_local_model

    return load_local_model(
        spec.model,
        dtype=spec.dtype,
        device=spec.device,
        quantization=spec.quantization,
        trust_remote_code=spec.trust_remote_code,
        tool_call_format=spec.tool_call_format,
        hf_token=spec.hf_token,
        max_new_tokens=spec.max_new_tokens,
        temperature=spec.temperature,
        max_concurrent=spec.max_concurrent,
        max_batch_size=spec.max_batch_size,
        max_queue=spec.max_queue,
        prefix_cache_bytes=spec.prefix_cache_bytes,
        torch_threads=spec.torch_threads,
        stream_interval_ms=spec.stream_interval_ms,
    )


def endpoint_kind(endpoint_url: str, setting: EndpointKind = "auto") -> EndpointKind:
    """The client for `endpoint_url`: the setting, or "huggingface" for Hugging Face's hosts
    (`*.endpoints.huggingface.cloud`, `router.huggingface.co`) and "openai" for any other."""
    if setting != "auto":
        return setting
    host = (urlparse(endpoint_url).hostname or "").lower()
    return "huggingface" if host.endswith(_HF_HOSTS) else "openai"
