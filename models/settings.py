"""`ModelSettings`: the model half of the configuration, read from `THREADLOOM_*` variables.

It lives here, below the service, so that a graph can find the configured model without
importing the service; the service's `Settings` extends it, so there is still one settings class
per process and one place that names each variable.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from threadloom.models.factory import ModelSpec


class ModelSettings(BaseSettings):
    """Which model runs and how: "bundled", a hub id or a local folder; or a remote endpoint."""

    model_config = SettingsConfigDict(
        env_prefix="THREADLOOM_", env_file=".env", extra="ignore", validate_by_name=True
    )

    # `endpoint_kind` "auto" speaks OpenAI's wire (vLLM, SGLang, llama.cpp, `transformers
    # serve`) except to Hugging Face's hosts; `endpoint_model` is the name sent, by default the
    # one model the server lists at /v1/models (see models/served_model.py).
    model: str = "bundled"
    endpoint_url: str | None = None
    endpoint_kind: Literal["auto", "openai", "huggingface"] = "auto"
    endpoint_model: str | None = Field(None, min_length=1)
    endpoint_api_key: SecretStr | None = None
    endpoint_timeout_s: float = Field(120.0, gt=0, le=3600)
    # Retries of a request the server could not take (connection refused, 429, 5xx), with backoff.
    endpoint_max_retries: int = Field(2, ge=0, le=10)
    hf_token: SecretStr | None = None
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    quantization: Literal["none", "4bit", "8bit"] = "none"
    trust_remote_code: bool = False
    tool_call_format: str = "auto"
    max_new_tokens: int = Field(256, ge=1, le=32768)
    temperature: float = Field(0.0, ge=0.0, le=5.0)

    # Generation scheduler for local models.
    max_batch_size: int = Field(8, ge=1, le=256)
    max_queue: int = Field(64, ge=1)
    # Keys and values of past prompts and replies kept for prefix reuse (local models), in MiB.
    prefix_cache_mb: float = Field(256.0, ge=0)
    # torch's intra- and inter-op threads (local models); None: torch's own choice.
    torch_threads: int | None = Field(None, ge=1)
    # A local model's streamed reply comes in chunks at most this often for each reply decoding
    # at the time (see `GenerationPool.astream_batches`), and the service sends any model's
    # consecutive message chunks of a run as one event at most this often
    # (`service.runs.coalescing`); 0: token by token.
    stream_interval_ms: float = Field(15.0, ge=0.0, le=1000.0)

    def to_spec(self) -> ModelSpec:
        """The `ModelSpec` these settings describe, for `load_chat_model` and `chat_model`."""
        return ModelSpec(
            model=self.model,
            endpoint_url=self.endpoint_url,
            endpoint_kind=self.endpoint_kind,
            endpoint_model=self.endpoint_model,
            endpoint_api_key=(
                self.endpoint_api_key.get_secret_value() if self.endpoint_api_key else None
            ),
            endpoint_timeout_s=self.endpoint_timeout_s,
            endpoint_max_retries=self.endpoint_max_retries,
            hf_token=self.hf_token.get_secret_value() if self.hf_token else None,
            dtype=self.dtype,
            device=self.device,
            quantization=self.quantization,
            trust_remote_code=self.trust_remote_code,
            tool_call_format=self.tool_call_format,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            max_concurrent=self.max_batch_size,
            max_batch_size=self.max_batch_size,
            max_queue=self.max_queue,
            prefix_cache_bytes=int(self.prefix_cache_mb * 2**20),
            torch_threads=self.torch_threads,
            stream_interval_ms=self.stream_interval_ms,
        )
