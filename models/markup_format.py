"""Which tool-call markup to read out of a remote model's text, when its server leaves it there.

Many servers return a model's calls as `<tool_call>...</tool_call>` text in `content` instead of
`tool_calls` (`transformers serve` for models it has no response parser for; vLLM without
`--tool-call-parser`). The format is `THREADLOOM_TOOL_CALL_FORMAT` when set, else read from the
chat template of the first model whose tokenizer files are on this machine: the served model
(a local folder, as `transformers serve ./folder` and llama.cpp report it, or a hub id in the
local Hugging Face cache), then `THREADLOOM_MODEL` (a folder, a cached hub id, or the bundled
model). With no template at hand it is "hermes", the `<tool_call>` markup most open models use.
Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from threadloom.models.bundled import BUNDLED_MODEL_DIR, BUNDLED_NAME
from threadloom.models.tool_calls import detect_format
from threadloom.models.tool_calls.formats import syntax_for

logger = logging.getLogger(__name__)

AUTO = "auto"
FALLBACK_FORMAT = "hermes"
_TEMPLATE_FILES = ("chat_template.jinja", "tokenizer_config.json")


def markup_format(setting: str, models: Iterable[str | None]) -> str:
    """The format `setting` names, or the one the first found chat template among `models` teaches.

    Example:
        >>> markup_format("auto", ["/srv/models/qwen", "bundled"])
        'hermes'
    """
    if setting != AUTO:
        syntax_for(setting)  # an unknown name fails now, naming the valid ones
        return setting
    for model in models:
        template = _chat_template(model) if model else None
        if template is not None:
            fmt = detect_format(template)
            logger.info("tool-call markup of model=%s read from its chat template: %s", model, fmt)
            return fmt
    return FALLBACK_FORMAT


def _chat_template(model: str) -> str | None:
    for name in _TEMPLATE_FILES:
        path = _local_file(model, name)
        if path is None:
            continue
        text = path.read_text(encoding="utf-8")
        if name.endswith(".jinja"):
            return text
        template = json.loads(text).get("chat_template")
        if isinstance(template, str):
            return template
    return None


def _local_file(model: str, name: str) -> Path | None:
    folder = BUNDLED_MODEL_DIR if model == BUNDLED_NAME else Path(model).expanduser()
    if folder.is_dir():
        path = folder / name
        return path if path.is_file() else None
    if model.count("/") != 1 or model.startswith(("/", ".", "~")):
        return None  # not a hub id either
    try:
        cached = try_to_load_from_cache(model, name)
    except ValueError:  # not a valid repository id
        return None
    return Path(cached) if isinstance(cached, str) else None
