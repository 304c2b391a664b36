"""The one configuration class: every setting, its default, read from `THREADLOOM_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from threadloom.models.settings import ModelSettings

DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."


class Settings(ModelSettings):
    """Configuration of the service and of the agent it serves.

    Every field can be set with an environment variable `THREADLOOM_<NAME>` (or a `.env` file).
    Defaults run fully offline: the bundled model and a SQLite file under `./data/`. The model
    fields (`model`, `endpoint_url`, `max_new_tokens`, ..., `max_batch_size`, `max_queue`) and
    the `THREADLOOM_` prefix come from `ModelSettings`, which graphs read without the service.
    """

    # The deployment file (LangGraph CLI's `langgraph.json`) naming the graphs to serve and the
    # rest of docs/deployment-file.md ("Serve your own graphs"). Unset: `./langgraph.json` if there
    # is one, else the built-in agent alone. Values below that the file also sets (CORS, the
    # `http.*`, `auth`, `store`, `checkpointer` and `webhooks` keys) come from it unless the
    # environment sets them.
    config: Path | None = None

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # "json": one JSON object per log line (time, level, logger, message, and run_id /
    # thread_id / graph_id on every line of a run); "text": the same as `key=value` pairs.
    # Also read from the conventional LOG_FORMAT.
    log_format: Literal["text", "json"] = Field(
        "text", validation_alias=AliasChoices("THREADLOOM_LOG_FORMAT", "LOG_FORMAT")
    )
    # Whether `GET /metrics` answers without an API key (as LangGraph Server's does), so that
    # Prometheus can scrape it; when off, it needs a key like every other route.
    metrics_public: bool = True
    # Seconds between keep-alive bytes on open streams and waits (SSE `: heartbeat` comments).
    heartbeat_s: float = Field(5.0, gt=0, le=300)
    # The longest a GET stream stays open (following a thread, joining a run's stream); it then
    # ends as if the run had. Unset: a thread's stream until the client leaves, a run's until
    # the run ends. Fuzzers and tests set it so that every generated request ends.
    join_stream_max_s: float | None = Field(None, gt=0, le=86400)

    # Who may see what. With API keys configured, every request but /ok and /info must carry
    # one (`Authorization: Bearer <key>` or `x-api-key: <key>`), and each key's owner sees only
    # the threads, runs and assistants it created; without keys, auth is off. `api_keys`:
    # comma-separated `owner:key` pairs or bare keys (each then its own owner); `api_keys_file`:
    # one `owner:key` per line, `#` starts a comment. Both may be given.
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    # A `langgraph_sdk.Auth` object, as `auth.path` of langgraph.json names it:
    # "path/to/file.py:attr" or "package.module:attr". Its `@auth.authenticate` turns each
    # request into a user; its `@auth.on...` handlers allow, refuse or scope every operation
    # (see `service.auth.policy`). Not together with API keys: the server refuses to start.
    auth_path: str | None = None
    # Browser origins allowed to call the API (CORS), comma-separated, "*" for any; if empty,
    # pages on loopback (localhost, 127.0.0.1, [::1], any port) and, with `cors_allow_studio`,
    # the hosted LangGraph Studio (https://smith.langchain.com) only.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    cors_allow_studio: bool = True
    # CORS as `http.cors` gives it (CORSMiddleware's keyword arguments: allow_origins,
    # allow_methods, allow_headers, allow_credentials, allow_origin_regex, expose_headers,
    # max_age); `cors_origins`, when set, replaces its `allow_origins`.
    cors: dict[str, Any] | None = None
    # A Starlette / FastAPI app served beside the API (`http.app`): "/abs/path/file.py:attr" or
    # "package.module:attr". The API's routes are matched first. Its middleware runs on every
    # request, before the API key check unless `middleware_order` is "auth_first"; its routes
    # need no API key unless `enable_custom_route_auth`.
    http_app: str | None = None
    enable_custom_route_auth: bool = False
    middleware_order: Literal["auth_first", "middleware_first"] = "middleware_first"
    # Request headers copied into a run's `config.configurable` (`http.configurable_headers`):
    # {"include": [patterns], "exclude": [patterns]}, patterns of lower-case names with `*`.
    configurable_headers: dict[str, list[str]] | None = None
    # The largest request body accepted; a larger one is answered 413 and never reaches a route.
    max_body_bytes: int = Field(1024 * 1024, ge=1)
    # Slow or broken clients (docs/safeguards.md): the headers, then the body, must
    # arrive within these times (else the connection closes / 408); idle kept-alive connections
    # close; past `max_connections` new requests get 503, and one client address may hold only
    # `max_connections_per_client` connections (more are answered 429 and closed; behind a
    # reverse proxy, raise it to `max_connections`); with API keys, one key may keep only
    # `max_open_requests_per_key` requests (streams, waits) open (429).
    header_read_timeout_s: float = Field(10.0, gt=0, le=3600)
    body_read_timeout_s: float = Field(30.0, gt=0, le=3600)
    keep_alive_timeout_s: float = Field(5.0, gt=0, le=3600)
    max_connections: int = Field(2000, ge=1)
    max_connections_per_client: int = Field(200, ge=1)
    max_open_requests_per_key: int = Field(100, ge=1)
    # JSON bodies nested deeper than this are refused (422) before any route parses them.
    max_json_depth: int = Field(64, ge=8, le=200)

    # Storage: SQLite file by default; a PostgreSQL URL (THREADLOOM_DATABASE_URL, or the
    # conventional DATABASE_URL) switches to the shared database that replicas serve together.
    db: Path = Path("data/threadloom.sqlite")
    database_url: SecretStr | None = Field(
        None, validation_alias=AliasChoices("THREADLOOM_DATABASE_URL", "DATABASE_URL")
    )
    db_pool_size: int = Field(10, ge=2, le=1000)
    db_connect_timeout_s: float = Field(10.0, gt=0, le=600)

    # Runs across replicas and restarts (docs/replicas.md). A run is leased to the replica that
    # accepted or executes it, which renews the lease every third of `lease_ttl_s`; when a
    # replica stops renewing (it crashed), another takes its runs over within about
    # `lease_ttl_s` and a third: queued runs stay pending and start there in their thread's
    # order; running ones are interrupted (resumable from the last checkpoint), or run again
    # with `recovery="retry"`. `replica_id` names this process in the run table; a stable id
    # (e.g. a pod name) lets a restarted replica take its own runs over at once. Default: random
    # per process with PostgreSQL, "embedded" with SQLite (one process per file).
    replica_id: str | None = Field(None, min_length=1, max_length=200)
    lease_ttl_s: float = Field(30.0, ge=0.3, le=3600)
    recovery: Literal["interrupt", "retry"] = "interrupt"
    # Longest wait for news from another replica when a notification is missed.
    poll_interval_s: float = Field(1.0, gt=0, le=60)
    # On SIGTERM: refuse new runs, give running ones this long to finish, then interrupt them.
    drain_grace_s: float = Field(30.0, ge=0, le=86400)
    # Stored run events (for rejoining streams) are kept this long after their run ended.
    event_log_retention_s: float = Field(3600.0, gt=0)

    # Agent. `tools`: built-in tool names and Python import paths (`package.module:tool`);
    # the tools of the MCP servers in `mcp_servers_file` (the `mcpServers` JSON format) join
    # them, named `<server>_<tool>`. Each server must list its tools within `mcp_timeout_s`
    # at start-up.
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["calculator", "search"]
    )
    mcp_servers_file: Path | None = None
    mcp_timeout_s: float = Field(30.0, gt=0, le=600)
    max_steps: int = Field(12, ge=2, le=200)
    tavily_api_key: SecretStr | None = None
    # The calculator computes in worker processes: a call past `compute_timeout_s` is killed,
    # and a worker may use `compute_memory_mb` more than it started with.
    compute_workers: int = Field(2, ge=1, le=64)
    compute_timeout_s: float = Field(5.0, gt=0, le=300)
    compute_memory_mb: int = Field(256, ge=16, le=65536)

    # Crons: the shortest time a schedule may leave between two runs (a finer schedule, such
    # as `*/1 * * * * *` with its seconds field, is refused with 422).
    cron_min_interval_s: float = Field(60.0, ge=1, le=86400)

    # Semantic search in the store: the `store.index` of langgraph.json, {"embed": "...",
    # "dims": int, "fields": ["$"]}; `embed` is a provider string ("openai:text-embedding-3-small",
    # with OPENAI_BASE_URL / OPENAI_API_KEY), a function ("./embed.py:fn") or a local model
    # ("local:<folder or package>"); see `service.deployment.store_index`. None: no index, and a
    # search's query is ignored, as on LangGraph Server.
    store_index: dict[str, Any] | None = None
    # Thread time-to-live: the `checkpointer.ttl` of langgraph.json, {"strategy": "delete" |
    # "keep_latest", "default_ttl": minutes, "sweep_interval_minutes": n} (see
    # `service.threads.ttl_sweeper`). None: threads live until deleted, unless given a `ttl`.
    checkpointer_ttl: dict[str, Any] | None = None
    # Run webhooks: the `webhooks` section of langgraph.json ({"url": {"allowed_domains": [...],
    # "require_https": bool, "disable_loopback": bool, "allowed_ports": [...],
    # "max_url_length": n}, "headers": {...}, "allowed_fields": [...]}; see
    # `service.runs.webhooks`). The two settings below are the same policy without a config file:
    # hosts a webhook may call (exact names or `*.example.com`; empty: any public host; a
    # loopback, link-local or private host only when listed), and whether plain http is refused.
    webhooks: dict[str, Any] | None = None
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_https_only: bool = True
    # Whether a webhook host may resolve to a private address (10/8, 172.16/12, 192.168/16,
    # 100.64/10, fc00::/7): off by default, so a run cannot make the server call into its own
    # network; a host listed in `webhook_allowed_hosts` is trusted whatever it resolves to.
    webhook_allow_private: bool = False

    @field_validator("tools", "cors_origins", "webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        # A comma-separated env value ("calculator,search") is friendlier than JSON.
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value
