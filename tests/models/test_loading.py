"""load_local_model: real from_pretrained loading, and errors that say what to do."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from threadloom.models import loading
from threadloom.models.errors import ModelLoadError, QuantizationUnavailableError
from threadloom.models.generation import Generator
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.tools.calculator import evaluate
from threadloom.tools.registry import get_tools

SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."  # the service default


def test_loads_a_saved_folder_with_its_template_format(tiny_model_dir: Path) -> None:
    model = load_local_model(str(tiny_model_dir), device="cpu", temperature=0.5, seed=3)
    assert isinstance(model, LocalChatModel)
    assert model.model_name == str(tiny_model_dir)
    assert model.resolved_tool_call_format == "hermes"
    assert (model.temperature, model.seed) == (0.5, 3)
    assert isinstance(model.generator, Generator)
    weights = model.generator.model  # the engine and the batching scheduler both hold it
    assert weights.dtype == torch.float32
    assert weights.device.type == "cpu"
    assert not weights.training


def test_dtype_and_format_overrides(tiny_model_dir: Path) -> None:
    model = load_local_model(
        str(tiny_model_dir), device="cpu", dtype="bfloat16", tool_call_format="llama3_json"
    )
    assert model.generator.model.dtype == torch.bfloat16
    assert model.resolved_tool_call_format == "llama3_json"


def test_unknown_tool_call_format_is_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="use one of"):
        load_local_model(str(tiny_model_dir), device="cpu", tool_call_format="klingon")


def test_missing_folder_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelLoadError, match="no-such-model"):
        load_local_model(str(missing))


def test_hub_id_not_cached_offline_says_how_to_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelLoadError) as caught:
        load_local_model("threadloom-tests/not-a-real-model", device="cpu")
    message = str(caught.value)
    assert "threadloom-tests/not-a-real-model" in message
    assert "set HF_HUB_OFFLINE=0 and run once online, or pass a local folder" in message


def test_quantization_on_cpu_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(QuantizationUnavailableError, match="needs a CUDA GPU"):
        load_local_model(str(tiny_model_dir), device="cpu", quantization="4bit")


@pytest.mark.skipif(torch.cuda.is_available(), reason="asserts the error shown without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="no CUDA device"):
        load_local_model(str(tiny_model_dir), device="cuda")


def test_tokenizer_without_chat_template_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base-model"
    shutil.copytree(tiny_model_dir, base)
    (base / "chat_template.jinja").unlink(missing_ok=True)
    config = base / "tokenizer_config.json"
    config.write_text(config.read_text().replace('"chat_template"', '"unused_template"'))
    with pytest.raises(ModelLoadError, match="no chat template"):
        load_local_model(str(base), device="cpu")


def test_missing_bundled_model_says_how_to_build_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(loading, "BUNDLED_MODEL_DIR", tmp_path / "tiny-agent")
    with pytest.raises(ModelLoadError, match="make tiny-model"):
        load_local_model("bundled")


@pytest.mark.skipif(
    not (loading.BUNDLED_MODEL_DIR / "config.json").is_file(), reason="bundled model not built yet"
)
async def test_bundled_model_calls_the_calculator() -> None:
    model = load_local_model("bundled", device="cpu", max_new_tokens=64)
    agent_model = model.bind_tools(get_tools(["calculator", "search"]))
    question = [SystemMessage(SYSTEM_PROMPT), HumanMessage("What is 25^0.43?")]
    reply = await agent_model.ainvoke(question)
    assert isinstance(reply, AIMessage)
    assert [call["name"] for call in reply.tool_calls] == ["calculator"]
    expression = reply.tool_calls[0]["args"]["expression"]
    assert evaluate(expression) == pytest.approx(evaluate("25^0.43"))
