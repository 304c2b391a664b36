"""`load_local_model`: a hub id, a local folder or "bundled" -> a ready `LocalChatModel`.

Loads with transformers' own `from_pretrained` (so progress bars, caching and `HF_HOME` behave as
users expect), honours offline mode, and turns every failure into a `ModelLoadError` that names
the model and says what to do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.utils import logging as transformers_logging

from threadloom.models.batch_cache import batching_supported
from threadloom.models.batching import BatchScheduler
from threadloom.models.bundled import BUNDLED_MODEL_DIR, BUNDLED_NAME
from threadloom.models.errors import ModelLoadError, QuantizationUnavailableError
from threadloom.models.generation import Generator, TransformersGenerator
from threadloom.models.local import LocalChatModel

logger = logging.getLogger(__name__)
# transformers writes its lines through a handler and format of its own; hand them to the
# application's logging instead (one format, JSON lines included).
transformers_logging.disable_default_handler()
transformers_logging.enable_propagation()

Dtype = Literal["auto", "bfloat16", "float16", "float32"]
Device = Literal["auto", "cpu", "cuda"]
Quantization = Literal["none", "4bit", "8bit"]

_TRUE = {"1", "true", "yes", "on"}


def load_local_model(
    name_or_path: str,
    *,
    dtype: Dtype = "auto",
    device: Device = "auto",
    quantization: Quantization = "none",
    trust_remote_code: bool = False,
    tool_call_format: str = "auto",
    hf_token: str | None = None,
    max_batch_size: int = 8,
    max_queue: int = 64,
    prefix_cache_bytes: int = 0,
    torch_threads: int | None = None,
    **model_fields: Any,
) -> LocalChatModel:
    """Load a causal LM and its tokenizer and wrap them as a chat model.

    Args:
        name_or_path: "bundled", a hub id ("Qwen/Qwen2.5-0.5B-Instruct") or a local folder.
        dtype: "auto" keeps the checkpoint's dtype on GPU and uses float32 on CPU.
        device: "auto" picks CUDA when present.
        quantization: "4bit"/"8bit" need CUDA and the bitsandbytes package.
        trust_remote_code: run Python code shipped with the model; only for repositories you trust.
        tool_call_format: "auto" reads it from the chat template; or a name from
            `threadloom.models.tool_calls.FORMATS`, "react" or "none".
        hf_token: for gated or private hub models.
        max_batch_size: requests decoded together by the batching scheduler.
        max_queue: requests that may wait for a batch slot; past that, GenerationBusyError.
        prefix_cache_bytes: keys and values of past sequences kept for prefix reuse (0: none).
        torch_threads: torch's intra- and inter-op threads; None leaves torch's own choice.
        **model_fields: further `LocalChatModel` fields (max_new_tokens, temperature, ...).

    Example:
        >>> model = load_local_model("bundled").bind_tools([calculator])
        >>> model.invoke("What is 25^0.43?").tool_calls
    """
    source = resolve_source(name_or_path)
    if torch_threads is not None:
        set_torch_threads(torch_threads)
    offline = _offline()
    target = _device(device, name_or_path)
    quantized = _quantization_args(quantization, target, name_or_path)
    load_args: dict[str, Any] = {"trust_remote_code": trust_remote_code, "token": hf_token}
    load_args["local_files_only"] = offline
    logger.info(
        "loading model=%s device=%s dtype=%s quantization=%s offline=%s",
        name_or_path, target, dtype, quantization, offline,
    )
    tokenizer, model = _load_weights(
        name_or_path, source, _torch_dtype(dtype, target), target, quantized, load_args
    )
    return LocalChatModel(
        model_name=name_or_path,
        tokenizer=tokenizer,
        generator=_generator(model, name_or_path, max_batch_size, max_queue, prefix_cache_bytes),
        tool_call_format=tool_call_format,
        **model_fields,
    )


def _load_weights(
    name_or_path: str,
    source: str,
    dtype: torch.dtype | str,
    target: str,
    quantized: dict[str, Any],
    load_args: dict[str, Any],
) -> tuple[Any, Any]:
    """The tokenizer and the model, in eval mode on `target`; load failures as
    `ModelLoadError`."""
    started = time.monotonic()
    with _load_errors(name_or_path, load_args["local_files_only"]):
        tokenizer = AutoTokenizer.from_pretrained(source, **load_args)
        if not getattr(tokenizer, "chat_template", None):
            raise ModelLoadError(
                f"Model {name_or_path!r} has no chat template, so it cannot hold a conversation. "
                "Use an instruct/chat variant of the model."
            )
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=dtype, **quantized, **load_args
        )
    if not quantized:  # quantized weights are placed by their device_map
        model.to(target)
    model.eval()
    logger.info(
        "loaded model=%s parameters=%d seconds=%.1f",
        name_or_path, model.num_parameters(), time.monotonic() - started,
    )
    return tokenizer, model


def set_torch_threads(threads: int) -> None:
    """Cap torch's intra-op and inter-op thread pools, e.g. on a machine shared with others."""
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only settable before the first inter-op work of the process
        logger.warning(
            "torch inter-op threads already in use; kept at %d", torch.get_num_interop_threads()
        )


def _generator(
    model: Any, name: str, max_batch_size: int, max_queue: int, prefix_cache_bytes: int
) -> Generator:
    """The batching scheduler where the model's cache allows it, else one request at a time.

    Prefix reuse needs the batching scheduler's plain dynamic cache.
    """
    if batching_supported(model):
        return BatchScheduler(
            model,
            max_batch_size=max_batch_size,
            max_queue=max_queue,
            prefix_cache_bytes=prefix_cache_bytes,
            name=name,
        )
    logger.info("batching unsupported model=%s: its cache is not a plain dynamic cache", name)
    return TransformersGenerator(model)


def resolve_source(name_or_path: str) -> str:
    """The folder or hub id to load: "bundled" is the folder shipped inside this package."""
    if name_or_path == BUNDLED_NAME:
        if not (BUNDLED_MODEL_DIR / "config.json").is_file():
            raise ModelLoadError(
                f"The bundled model is missing from {BUNDLED_MODEL_DIR}. Build it with "
                "`make tiny-model`, or set THREADLOOM_MODEL to a hub id or a local folder."
            )
        return str(BUNDLED_MODEL_DIR)
    path = Path(name_or_path).expanduser()
    if path.exists() or _looks_like_path(name_or_path):
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"Model folder {name_or_path!r} does not exist or has no config.json. "
                "Pass a folder written by save_pretrained, or a hub id such as "
                "'Qwen/Qwen2.5-0.5B-Instruct'."
            )
        return str(path)
    return name_or_path


def _looks_like_path(name: str) -> bool:
    # Hub ids are "name" or "owner/name"; anything else with a separator is meant as a folder.
    return name.startswith((".", "/", "~")) or name.count("/") > 1


def _offline() -> bool:
    # Read at call time: huggingface_hub reads HF_HUB_OFFLINE once, at import.
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def _device(device: Device, name: str) -> str:
    has_cuda = torch.cuda.is_available()
    if device == "cuda" and not has_cuda:
        raise ModelLoadError(
            f"device='cuda' was asked for model {name!r}, but no CUDA device is visible. "
            "Use device='auto' or 'cpu', or check the GPU driver."
        )
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    return device


def _torch_dtype(dtype: Dtype, target: str) -> torch.dtype | str:
    if dtype == "auto":
        # Half precision on CPU is slow, and float16 kernels are missing on many CPUs.
        return "auto" if target == "cuda" else torch.float32
    return getattr(torch, dtype)


def _quantization_args(quantization: Quantization, target: str, name: str) -> dict[str, Any]:
    if quantization == "none":
        return {}
    if target != "cuda":
        raise QuantizationUnavailableError(
            f"quantization={quantization!r} for model {name!r} needs a CUDA GPU (bitsandbytes), "
            "and none is in use. Set quantization to 'none' to load the full-precision weights."
        )
    try:
        # Imported here so that the error names what is missing; device_map needs accelerate.
        import accelerate  # noqa: F401
        import bitsandbytes  # noqa: F401
        from transformers import BitsAndBytesConfig
    except ImportError as exc:
        raise QuantizationUnavailableError(
            f"quantization={quantization!r} for model {name!r} needs the bitsandbytes and "
            f"accelerate packages ({exc.name} is missing): pip install bitsandbytes accelerate, "
            "or set quantization to 'none'."
        ) from exc
    if quantization == "4bit":
        config = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16)
    else:
        config = BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": config, "device_map": {"": 0}}


@contextmanager
def _load_errors(name: str, offline: bool) -> Iterator[None]:
    """Re-raise what `from_pretrained` throws as ModelLoadError with advice that fits the case."""
    try:
        yield
    except ModelLoadError:
        raise
    except Exception as exc:
        if "trust_remote_code" in str(exc):
            advice = "This model ships its own code: set trust_remote_code only if you trust it."
        elif offline:
            advice = (
                "Offline mode is on and the files are not in the local cache: "
                "set HF_HUB_OFFLINE=0 and run once online, or pass a local folder."
            )
        else:
            advice = (
                "Check the hub id or folder, your network, and hf_token for gated models; "
                "or pass a local folder."
            )
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"Could not load model {name!r}: {advice} ({detail})") from exc
