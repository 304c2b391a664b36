"""`chat_model()`: the configured chat model for any graph, loaded once per process.

A process may serve several graphs that all want "our model" (the agent, the supervisor's two
sub-agents, a user's graph). Loading it once per graph would multiply the memory and split the
local model's continuous-batching scheduler, whose point is to decode every request in one
batch. So models are kept here, one per `ModelSpec`: a local model is loaded once per weights
and loading options, and a request for other sampling defaults (`max_new_tokens`,
`temperature`) gets a light copy that shares the weights and the scheduler.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from langchain_core.language_models import BaseChatModel

from threadloom.models.factory import ModelSpec, load_chat_model
from threadloom.models.settings import ModelSettings

# Sampling defaults a copy of a loaded model may change without loading it again.
SAMPLING_FIELDS = ("max_new_tokens", "temperature")

_lock = threading.Lock()
_chat_models: dict[ModelSpec, BaseChatModel] = {}
_loaded: dict[ModelSpec, BaseChatModel] = {}


def chat_model(spec: ModelSpec | None = None, **overrides: Any) -> BaseChatModel:
    """The configured chat model, as a LangChain chat model with `.bind_tools`.

    Without `spec`, the configuration is read from `THREADLOOM_*` variables and `.env`
    (`THREADLOOM_MODEL`: "bundled" by default, a hub id or a folder; `THREADLOOM_ENDPOINT_URL`:
    a TGI / vLLM / HF endpoint instead). `overrides` replace fields of the spec for this caller
    (`max_new_tokens=64`, `temperature=0.7`, even `model="Qwen/Qwen2.5-0.5B-Instruct"`); an
    unknown name raises TypeError. Each distinct spec is built once per process, and callers
    that differ only in sampling share one loaded local model and its scheduler.

    Example:
        >>> from threadloom.models import chat_model
        >>> from threadloom.tools.calculator import calculator
        >>> model = chat_model(max_new_tokens=128).bind_tools([calculator])
        >>> model.invoke("compute 17*23").tool_calls
        [{'name': 'calculator', 'args': {'expression': '17*23'}, ...}]
    """
    wanted = dataclasses.replace(spec or ModelSettings().to_spec(), **overrides)
    with _lock:  # one load per spec, however many threads ask at once
        model = _chat_models.get(wanted)
        if model is None:
            model = _chat_models[wanted] = _build(wanted)
    return model


def _build(spec: ModelSpec) -> BaseChatModel:
    if spec.endpoint_url:
        return load_chat_model(spec)  # a client: nothing heavy to share
    # The spec with default sampling names the weights and how they are loaded and scheduled.
    defaults = {name: getattr(ModelSpec, name) for name in SAMPLING_FIELDS}
    weights = dataclasses.replace(spec, **defaults)
    base = _loaded.get(weights)
    if base is None:
        base = _loaded[weights] = load_chat_model(weights)
    if spec == weights:
        return base
    # A shallow copy keeps the private generation pool, so the scheduler is shared.
    return base.model_copy(update={name: getattr(spec, name) for name in SAMPLING_FIELDS})
