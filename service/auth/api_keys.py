"""API keys: which owner a request acts for, and refusing requests without a valid key.

Keys come from `THREADLOOM_API_KEYS` and/or `THREADLOOM_API_KEYS_FILE` (see `Settings`), each
naming an owner. `ApiKeyAuth`, an ASGI middleware, reads the key of every request but `/ok` and
`/info` (`Authorization: Bearer <key>`, or `x-api-key: <key>` as `langgraph_sdk` sends it) and
runs the request acting for the key's owner, so that the storage shows it that owner's threads,
runs and assistants only (`service.storage.owners`). With no keys configured, auth is off, or
done by a custom auth policy (`service.auth.policy`); keys and a policy together are refused.

Only SHA-256 digests of the keys stay in memory; no key is ever logged or put in a message.

Example:
    >>> keys = ApiKeys.from_settings(Settings(api_keys="alice:s3cret,bob:t0ps3cret"))
    >>> app.add_middleware(ApiKeyAuth, keys=keys)
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from pathlib import Path

from starlette import status
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from threadloom.service.errors import ConfigurationError
from threadloom.service.http.in_process import in_process
from threadloom.service.http.refusal import refusal
from threadloom.service.settings import Settings
from threadloom.service.storage.owners import acting_for

logger = logging.getLogger(__name__)

# Liveness and version: answered to anyone, so probes and load balancers need no key.
OPEN_PATHS = frozenset({"/ok", "/info", "/", "/favicon.ico"})
# The playground's static files hold no data: the page asks for a key before it calls the API.
OPEN_PREFIXES = ("/playground/",)
_HOW_TO_SEND = (
    "Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>' "
    "(langgraph_sdk: get_client(url=..., api_key=...))."
)
MISSING_KEY = f"Missing API key: this server requires one. {_HOW_TO_SEND}"
INVALID_KEY = (
    "Invalid API key: it is not one of this server's keys (THREADLOOM_API_KEYS, "
    f"THREADLOOM_API_KEYS_FILE). Check the key you send. {_HOW_TO_SEND}"
)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class ApiKeys:
    """The configured keys, each mapped to the owner it names."""

    def __init__(self, owners_by_digest: Mapping[bytes, str]) -> None:
        self._owners = dict(owners_by_digest)

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiKeys:
        """The keys of `api_keys` and `api_keys_file`; none (auth off) if neither is set.
        Raises `ConfigurationError`, naming the entry, for a malformed entry or an unreadable
        or empty file."""
        entries: list[tuple[str, str]] = []
        if settings.api_keys is not None and settings.api_keys.get_secret_value().strip():
            items = settings.api_keys.get_secret_value().split(",")
            entries += [
                (f"THREADLOOM_API_KEYS entry {n}", item)
                for n, item in enumerate(items, start=1)
                if item.strip()
            ]
            if not entries:
                raise ConfigurationError(
                    "THREADLOOM_API_KEYS names no key: give 'owner:key' pairs separated by "
                    "commas, or unset it to turn auth off."
                )
        if settings.api_keys_file is not None:
            entries += _file_entries(settings.api_keys_file)
        return cls.parse(entries)

    @classmethod
    def parse(cls, entries: Iterable[tuple[str, str]]) -> ApiKeys:
        """Keys from `(where, text)` entries, `text` being `owner:key` or a bare key (its own
        owner, named `key-` and the start of the key's SHA-256, so the key is never stored)."""
        owners: dict[bytes, str] = {}
        for where, text in entries:
            owner, key = _owner_and_key(text.strip(), where)
            digest = _digest(key)
            if owners.setdefault(digest, owner) != owner:
                raise ConfigurationError(
                    f"{where}: this key is also given to owner {owners[digest]!r}; give each "
                    "owner a key of its own."
                )
        return cls(owners)

    def __bool__(self) -> bool:
        return bool(self._owners)

    @property
    def owner_count(self) -> int:
        return len(set(self._owners.values()))

    def owner_of(self, key: str) -> str | None:
        """The owner `key` names; None if it is not a configured key."""
        return self._owners.get(_digest(key))


def _owner_and_key(text: str, where: str) -> tuple[str, str]:
    owner, colon, key = text.partition(":")
    if not colon:
        return f"key-{hashlib.sha256(text.encode()).hexdigest()[:16]}", text
    owner, key = owner.strip(), key.strip()
    if not owner or not key:
        missing = "owner before" if not owner else "key after"
        raise ConfigurationError(
            f"{where}: no {missing} the ':'. Write 'owner:key', or a bare key with no ':'."
        )
    return owner, key


def _file_entries(path: Path) -> list[tuple[str, str]]:
    """The `owner:key` lines of the keys file, without blank lines and `#` comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigurationError(
            f"Cannot read THREADLOOM_API_KEYS_FILE {path}: {reason}. Fix the path, or unset it."
        ) from None
    entries = [
        (f"THREADLOOM_API_KEYS_FILE {path} line {number}", line)
        for number, line in enumerate(lines, start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not entries:
        raise ConfigurationError(
            f"THREADLOOM_API_KEYS_FILE {path} holds no key: add one 'owner:key' per line, or "
            "unset it to turn auth off."
        )
    return entries


def presented_key(headers: Headers) -> str | None:
    """The key a request carries: a bearer token, else its `x-api-key` header."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key", "").strip() or None


def is_loopback(host: str) -> bool:
    """Whether `host` (what the server binds) is reachable from this machine only."""
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def is_open(path: str) -> bool:
    """Whether `path` is served without a key: health, server info and the playground page."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def unchecked(scope: Scope, also_open: Callable[[Scope], bool] | None) -> bool:
    """Whether a request passes the auth middleware without a check: not HTTP, an open path,
    one the settings open (`also_open`), or one from a graph's in-process client, which acts as
    its run already does (`service.http.in_process`)."""
    if scope["type"] not in ("http", "websocket") or is_open(scope["path"]) or in_process(scope):
        return True
    return also_open is not None and also_open(scope)


class ApiKeyAuth:
    """ASGI middleware: a request (HTTP or websocket) needs a valid key, or is answered 401;
    it then acts for the key's owner."""

    def __init__(
        self, app: ASGIApp, keys: ApiKeys, is_open: Callable[[Scope], bool] | None = None
    ) -> None:
        self.app = app
        self._keys = keys
        # Besides `is_open`'s paths, requests that need no key (/metrics, a user app's routes).
        self._also_open = is_open

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if unchecked(scope, self._also_open):
            await self.app(scope, receive, send)
            return
        key = presented_key(Headers(scope=scope))
        owner = None if key is None else self._keys.owner_of(key)
        if owner is None:
            reason = "missing" if key is None else "invalid"
            logger.info(
                "request refused: %s api key method=%s path=%s",
                reason,
                scope.get("method", "websocket"),
                scope["path"],
            )
            message = MISSING_KEY if key is None else INVALID_KEY
            answer = refusal(
                scope,
                status.HTTP_401_UNAUTHORIZED,
                message,
                code="invalid_api_key",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await answer(scope, receive, send)
            return
        with acting_for(owner):
            await self.app(scope, receive, send)
