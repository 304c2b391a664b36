"""load_chat_model: a local model by default, the remote client when an endpoint is set."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models import BaseChatModel

from threadloom.models.factory import ModelSpec, load_chat_model
from threadloom.models.local import LocalChatModel


def test_spec_defaults_run_offline_on_the_bundled_model() -> None:
    spec = ModelSpec()
    assert (spec.model, spec.endpoint_url, spec.quantization) == ("bundled", None, "none")


def test_local_spec_loads_the_model_with_its_settings(tiny_model_dir: Path) -> None:
    spec = ModelSpec(
        model=str(tiny_model_dir), device="cpu", max_new_tokens=5, temperature=0.7,
        max_concurrent=2,
    )
    model = load_chat_model(spec)
    assert isinstance(model, LocalChatModel)
    assert (model.max_new_tokens, model.temperature, model.max_concurrent) == (5, 0.7, 2)
    reply = model.invoke("Hi", temperature=0.0)
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 5


def test_endpoint_spec_builds_a_remote_client_without_loading_weights() -> None:
    spec = ModelSpec(
        model="/no/such/local/folder", endpoint_url="http://127.0.0.1:9/v1", max_new_tokens=9
    )
    model = load_chat_model(spec)
    assert isinstance(model, BaseChatModel)
    assert not isinstance(model, LocalChatModel)
