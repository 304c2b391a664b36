"""The remote model servers threadloom was tried with, how to point at each, and what was verified.

`/info` reports this list and the README's "Remote models" section shows it; keep them in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteServer:
    """One kind of server: how to start it, the settings that point threadloom at it, and what
    was verified against it (a real run in CI, or its wire format on the loopback fake)."""

    name: str
    endpoint_kind: str
    start: str
    settings: str
    verified: str


_FAKE_WIRE = (
    "its wire format only, on the loopback OpenAI-wire server of "
    "tests/models/test_openai_endpoint.py (parsed tool_calls, tool_choice, usage in streams, "
    "404 for an unknown model name); not run in CI"
)

REMOTE_SERVERS: tuple[RemoteServer, ...] = (
    RemoteServer(
        name="transformers serve",
        endpoint_kind="openai",
        start="transformers serve ./models/bundled/tiny-agent --port 8000",
        settings="THREADLOOM_ENDPOINT_URL=http://127.0.0.1:8000",
        verified=(
            "run in CI (tests/e2e/test_transformers_serve.py): model name from /v1/models, "
            "tool-call markup left in the text parsed, the seed question streamed end to end, "
            "a wrong model name, the server stopped mid-run and back"
        ),
    ),
    RemoteServer(
        name="vLLM",
        endpoint_kind="openai",
        start=(
            "vllm serve Qwen/Qwen2.5-7B-Instruct --enable-auto-tool-choice "
            "--tool-call-parser hermes --port 8000"
        ),
        settings="THREADLOOM_ENDPOINT_URL=http://HOST:8000",
        verified=_FAKE_WIRE,
    ),
    RemoteServer(
        name="SGLang",
        endpoint_kind="openai",
        start=(
            "python -m sglang.launch_server --model-path Qwen/Qwen2.5-7B-Instruct "
            "--tool-call-parser qwen25 --port 30000"
        ),
        settings="THREADLOOM_ENDPOINT_URL=http://HOST:30000",
        verified=_FAKE_WIRE,
    ),
    RemoteServer(
        name="llama.cpp server",
        endpoint_kind="openai",
        start="llama-server -m qwen2.5-7b-instruct-q4_k_m.gguf --jinja --port 8080",
        settings=(
            "THREADLOOM_ENDPOINT_URL=http://HOST:8080 (THREADLOOM_ENDPOINT_API_KEY if started "
            "with --api-key)"
        ),
        verified=_FAKE_WIRE,
    ),
    RemoteServer(
        name="Hugging Face Inference Endpoints (TGI)",
        endpoint_kind="huggingface",
        start="create an endpoint at https://endpoints.huggingface.co",
        settings=(
            "THREADLOOM_ENDPOINT_URL=https://NAME.REGION.aws.endpoints.huggingface.cloud, "
            "THREADLOOM_HF_TOKEN=hf_..."
        ),
        verified=(
            "TGI's wire format only, on the loopback server of "
            "tests/models/test_remote_endpoint.py; not run in CI"
        ),
    ),
)
