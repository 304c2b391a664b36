"""Custom auth as LangGraph Server does it: a `langgraph_sdk.Auth` object named by `auth_path`.

`AuthPolicy.load` imports the object (`"path/to/file.py:attr"` or `"package.module:attr"`).
`PolicyAuth`, an ASGI middleware, runs its `@auth.authenticate` handler on every request but
`/ok` and `/info`, with the parameters the handler names (`request`, `headers`, `authorization`,
`path`, `method`, `query_params`, `path_params`, `scope`, `scopes`); what it returns (a string
identity, a dict with `identity`, an object with `identity`, or `(permissions, user)`) is the
user the request acts for. Its `Auth.exceptions.HTTPException` answers with its status (401,
403) and detail.

Routes then call `authorize(resource, action, value)` before they touch a resource. The most
specific handler runs (`threads.create`, then `threads`, then the action on any resource, then
`@auth.on`), with `(ctx, value)` as LangGraph Server calls it: None or True allows, False or an
`AssertionError` answers 403, an `HTTPException` its own status, and a filter dict allows
while keeping the rest of the request to the rows whose metadata match it
(`service.storage.owners.scope_to_policy`). The user also reaches the graph:
`config["configurable"]["langgraph_auth_user"]` (and `_user_id`, `_permissions`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from langgraph_sdk import Auth
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from threadloom.service.auth.api_keys import unchecked
from threadloom.service.auth.user import AuthUser
from threadloom.service.deployment.object_import import ImportFailed, import_object, split_reference
from threadloom.service.errors import ConfigurationError, Forbidden, ServiceError
from threadloom.service.http.refusal import refusal
from threadloom.service.schemas.runs import RunCreate
from threadloom.service.storage.owners import Resource, scope_to_policy
from threadloom.service.storage.policy_filters import Filter, PolicyError

logger = logging.getLogger(__name__)

# Keys of a run's `configurable` that carry the user into the graph, as LangGraph names them.
USER_KEY = "langgraph_auth_user"
USER_ID_KEY = "langgraph_auth_user_id"
PERMISSIONS_KEY = "langgraph_auth_permissions"
AUTH_KEYS = (USER_KEY, USER_ID_KEY, PERMISSIONS_KEY)

# What an `@auth.authenticate` handler may ask for, as LangGraph Server injects it.
_AUTHENTICATE_PARAMETERS = frozenset(
    {
        "request",
        "path",
        "method",
        "headers",
        "authorization",
        "query_params",
        "path_params",
        "scope",
        "scopes",
    }
)
_POLICY_RESOURCES: frozenset[str] = frozenset({"threads", "assistants", "crons"})
# Every (resource, action) the routes ask the policy about.
_CRUD = ("create", "read", "update", "delete", "search")
DISPATCHED: tuple[tuple[str, str], ...] = (
    *(("threads", action) for action in (*_CRUD, "create_run")),
    *(("assistants", action) for action in _CRUD),
    *(("crons", action) for action in _CRUD),
    *(("store", action) for action in ("put", "get", "delete", "search", "list_namespaces")),
)


class PolicyRefusal(ServiceError):
    """A handler of the policy refused the request, with the status and detail it chose."""

    def __init__(self, status_code: int, detail: str, headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.status_code = status_code  # type: ignore[misc]  # per refusal, not per class
        self.headers = dict(headers or {})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request acts for under the policy, and the policy that judges what it does."""

    user: AuthUser
    permissions: tuple[str, ...]
    policy: AuthPolicy


_current_caller: ContextVar[Caller | None] = ContextVar("threadloom_caller", default=None)


@contextmanager
def acting_as(caller: Caller) -> Iterator[None]:
    token = _current_caller.set(caller)
    try:
        yield
    finally:
        _current_caller.reset(token)


class AuthPolicy:
    """A loaded `langgraph_sdk.Auth`: authenticates requests and authorizes what they do."""

    def __init__(self, auth: Auth, path: str) -> None:
        if auth._authenticate_handler is None:
            raise ConfigurationError(
                f"auth path {path}: the Auth object has no @auth.authenticate handler; add one "
                "that turns a request's headers into a user."
            )
        self.path = path
        self._auth = auth
        self._authenticate = auth._authenticate_handler
        self._parameters = _authenticate_parameters(self._authenticate, path)
        self._warn_of_uncovered_actions()

    @classmethod
    def load(cls, path: str) -> AuthPolicy:
        """Import the Auth object `path` names; `ConfigurationError` naming the path and the
        cause if that fails."""
        try:
            module_name, attribute = split_reference(path)
            auth = import_object(path)
        except ImportFailed as exc:
            raise ConfigurationError(f"auth path {path}: cannot import it: {exc}") from exc
        if not isinstance(auth, Auth):
            raise ConfigurationError(
                f"auth path {path}: {module_name} has a {type(auth).__name__} named "
                f"{attribute!r}, not a langgraph_sdk.Auth object (auth = Auth())."
            )
        return cls(auth, path)

    async def authenticate(self, scope: Scope) -> Caller:
        """The caller of the request `scope`; `PolicyRefusal` if the handler refuses it."""
        try:
            arguments = _authenticate_arguments(scope, self._parameters)
            if inspect.iscoroutinefunction(self._authenticate):
                result = await self._authenticate(**arguments)
            else:  # a blocking handler (a database lookup) must not stall the event loop
                result = await run_in_threadpool(self._authenticate, **arguments)
        except (Auth.exceptions.HTTPException, StarletteHTTPException) as exc:
            raise PolicyRefusal(exc.status_code, str(exc.detail), exc.headers) from None
        permissions, user = _user_and_permissions(result)
        try:
            return Caller(AuthUser.of(user), tuple(permissions), self)
        except TypeError as exc:
            raise PolicyError(
                f"The auth policy's authenticate handler returned {type(user).__name__}: {exc}. "
                "Return an identity string, a dict with 'identity', or a user object."
            ) from None

    async def authorize(self, caller: Caller, resource: str, action: str, value: Any) -> Any:
        """The filter the policy's handler for `resource`.`action` returns (None: no filter);
        `PolicyRefusal` if it refuses."""
        handler = self._handler(resource, action)
        if handler is None:
            return None
        context = Auth.types.AuthContext(
            user=caller.user,
            permissions=list(caller.permissions),
            resource=resource,  # type: ignore[arg-type]
            action=action,  # type: ignore[arg-type]
        )
        try:
            result = await handler(ctx=context, value=value)
        except (Auth.exceptions.HTTPException, StarletteHTTPException) as exc:
            raise PolicyRefusal(exc.status_code, str(exc.detail), exc.headers) from None
        except AssertionError as exc:
            raise Forbidden(str(exc) or "Forbidden") from None
        if result is None or result is True:
            return None
        if result is False:
            raise Forbidden("Forbidden")
        if not isinstance(result, Mapping):
            raise PolicyError(
                f"The auth policy's handler for {resource}.{action} returned a "
                f"{type(result).__name__}; return None, True, False or a filter dict."
            )
        return dict(result)

    def _warn_of_uncovered_actions(self) -> None:
        """Say which actions no handler judges, once some are judged: those are allowed
        unscoped (as in LangGraph Server), a usual cause of one user seeing another's data."""
        if not self._auth._handlers and not self._auth._global_handlers:
            return  # authentication only: every action allowed, on purpose
        uncovered = [f"{r}.{a}" for r, a in DISPATCHED if self._handler(r, a) is None]
        if uncovered:
            logger.warning(
                "auth policy %s has no handler for %s: these are allowed for every "
                "authenticated user, unscoped. Add a default handler (@auth.on) to judge them.",
                self.path,
                ", ".join(uncovered),
            )

    def _handler(self, resource: str, action: str) -> Callable[..., Awaitable[Any]] | None:
        handlers = self._auth._handlers
        for key in ((resource, action), (resource, "*"), ("*", action), ("*", "*")):
            if handlers.get(key):
                return handlers[key][-1]
        return self._auth._global_handlers[-1] if self._auth._global_handlers else None


async def authorize(resource: Resource, action: str, value: Any) -> Filter | None:
    """Ask the policy whether the current request may do `action` on `resource` with `value`
    (which its handler may change, as LangGraph's handlers do); from now on the request sees
    only the rows its filter matches. Does nothing without a policy."""
    caller = _current_caller.get()
    if caller is None:
        return None
    filters = await caller.policy.authorize(caller, resource, action, value)
    if resource in _POLICY_RESOURCES:
        scope_to_policy(resource, filters)
    return filters


async def authorize_store(action: str, value: dict[str, Any]) -> Filter | None:
    """`authorize` for the store, whose handlers check (and may rewrite) `value["namespace"]`
    and may return a filter on the items' values."""
    caller = _current_caller.get()
    if caller is None:
        return None
    return await caller.policy.authorize(caller, "store", action, value)


def auth_configurable() -> dict[str, Any]:
    """What a run started now carries into its graph's `configurable` about its user (JSON;
    `graph_user` turns it back into a user object); empty without a policy."""
    caller = _current_caller.get()
    if caller is None:
        return {}
    return {
        USER_KEY: caller.user.to_dict(),
        USER_ID_KEY: caller.user.identity,
        PERMISSIONS_KEY: list(caller.permissions),
    }


def graph_user(recorded: Any) -> Any:
    """The user a run recorded, as its graph sees it: an object with `identity`, by attribute
    and by key, as LangGraph Server gives it."""
    if isinstance(recorded, Mapping) and "identity" in recorded:
        return AuthUser(recorded)
    return recorded


class PolicyAuth:
    """ASGI middleware: every request (HTTP or websocket) that is not open
    (`service.auth.api_keys.unchecked`) is authenticated by the policy, or answered with its
    refusal; it
    then acts as the user."""

    def __init__(
        self, app: ASGIApp, policy: AuthPolicy, is_open: Callable[[Scope], bool] | None = None
    ) -> None:
        self.app = app
        self._policy = policy
        self._also_open = is_open  # as `ApiKeyAuth`'s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if unchecked(scope, self._also_open):
            await self.app(scope, receive, send)
            return
        try:
            caller = await self._policy.authenticate(scope)
        except ServiceError as exc:
            logger.info(
                "request refused by auth policy: status=%d method=%s path=%s",
                exc.status_code,
                scope.get("method", "websocket"),
                scope["path"],
            )
            headers = getattr(exc, "headers", None) or {}
            answer = refusal(scope, exc.status_code, exc.detail, headers=headers)
            await answer(scope, receive, send)
            return
        with acting_as(caller):
            await self.app(scope, receive, send)


def _authenticate_parameters(handler: Callable[..., Any], path: str) -> frozenset[str]:
    parameters = inspect.signature(handler).parameters
    unsupported = [
        name
        for name, parameter in parameters.items()
        if name not in _AUTHENTICATE_PARAMETERS and parameter.default is parameter.empty
    ]
    if unsupported:
        raise ConfigurationError(
            f"auth path {path}: the authenticate handler asks for {', '.join(unsupported)}; "
            f"it may ask for: {', '.join(sorted(_AUTHENTICATE_PARAMETERS))}."
        )
    return frozenset(name for name in parameters if name in _AUTHENTICATE_PARAMETERS)


def _authenticate_arguments(scope: Scope, wanted: frozenset[str]) -> dict[str, Any]:
    """The arguments the handler asked for, taken from the request as LangGraph takes them
    (`headers`: a dict of bytes to bytes, `authorization`: text or None)."""
    headers = dict(scope.get("headers") or [])
    available: dict[str, Callable[[], Any]] = {
        "scope": lambda: scope,
        "path": lambda: scope["path"],
        "method": lambda: scope.get("method", "GET"),  # a websocket opens with a GET
        "headers": lambda: headers,
        "authorization": lambda: (
            headers[b"authorization"].decode("latin-1") if b"authorization" in headers else None
        ),
        "query_params": lambda: QueryParams(scope.get("query_string", b"")),
        "path_params": lambda: scope.get("path_params", {}),
        "scopes": lambda: [],
        "request": lambda: _request(scope),
    }
    return {name: available[name]() for name in wanted}


def _request(scope: Scope) -> Request:
    if scope["type"] != "http":
        raise PolicyRefusal(
            403,
            "The auth policy's authenticate handler asks for `request`, which a websocket does "
            "not have; ask for `headers` or `authorization` instead.",
        )
    return Request(scope)


def _user_and_permissions(result: Any) -> tuple[Sequence[str], Any]:
    """`(permissions, user)` from what an authenticate handler returned."""
    if isinstance(result, tuple):
        if len(result) != 2:
            raise PolicyError(
                "The auth policy's authenticate handler returned a tuple of "
                f"{len(result)} items; return (permissions, user)."
            )
        return result[0] or (), result[1]
    if isinstance(result, Mapping):
        return result.get("permissions") or (), result
    return getattr(result, "permissions", None) or (), result


async def authorize_run(thread_id: str | None, request: RunCreate) -> RunCreate:
    """Ask the policy whether the caller may start `request` on `thread_id` (None: a new
    thread), as `threads.create_run`, and may use its assistant (`assistants.read`); the
    request comes back with the run metadata its handler may have changed."""
    asked = {
        "thread_id": thread_id,
        "assistant_id": request.assistant_id,
        "run_id": None,
        "status": "pending",
        "metadata": dict(request.metadata or {}),
        "prevent_insert_if_inflight": True,
        "multitask_strategy": request.multitask_strategy,
        "if_not_exists": request.if_not_exists,
        "after_seconds": request.after_seconds,
        "kwargs": request.model_dump(
            include={"input", "command", "config", "context", "stream_mode", "webhook"}
        ),
    }
    await authorize("threads", "create_run", asked)
    await authorize("assistants", "read", {"assistant_id": request.assistant_id})
    if _current_caller.get() is None:
        return request
    return request.model_copy(update={"metadata": asked["metadata"]})
