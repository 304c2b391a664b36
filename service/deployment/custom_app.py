"""A user's own Starlette / FastAPI app (`http.app`), served beside the API, as LangGraph Server
serves it.

Its routes are matched after the API's, so the API keeps its paths. Its middleware runs on every
request: outside the API key check by default (`middleware_order: "middleware_first"`), inside
it with "auth_first". Its routes need no API key unless `enable_custom_route_auth`. Its
exception handlers serve the exceptions the API does not handle itself, and its lifespan runs
inside the server's.

Example:
    >>> custom = CustomApp.load(settings)  # None without http.app
    >>> custom.mount(app)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from threadloom.service.deployment.object_import import ImportFailed, import_object
from threadloom.service.errors import ConfigurationError
from threadloom.service.settings import Settings


@dataclass(frozen=True)
class CustomApp:
    """The user's app and how the deployment file says to serve it."""

    app: Starlette
    reference: str
    middleware_first: bool
    needs_auth: bool

    @classmethod
    def load(cls, settings: Settings) -> CustomApp | None:
        """Import `http.app` (None when there is none); ConfigurationError, on one line, if it
        cannot be imported or is not a Starlette app."""
        if not settings.http_app:
            return None
        try:
            app = import_object(settings.http_app)
        except ImportFailed as exc:
            raise ConfigurationError(f"http.app ({settings.http_app}): {exc}") from exc
        if not isinstance(app, Starlette):
            raise ConfigurationError(
                f"http.app ({settings.http_app}): a {type(app).__name__}, not a Starlette or "
                "FastAPI app"
            )
        return cls(
            app=app,
            reference=settings.http_app,
            middleware_first=settings.middleware_order == "middleware_first",
            needs_auth=settings.enable_custom_route_auth,
        )

    def mount(self, api: Starlette, auth: type) -> None:
        """Add the app's routes after the API's, its middleware on every request (outside
        `auth`, the API's authentication middleware, or just inside it when that is installed
        and the config says "auth_first"), and its exception handlers where the API has none."""
        api.router.routes.extend(self.app.router.routes)
        position = 0
        if not self.middleware_first:
            installed = [item.cls for item in api.user_middleware]
            position = installed.index(auth) + 1 if auth in installed else 0
        middleware: list[Middleware] = list(self.app.user_middleware)
        api.user_middleware[position:position] = middleware
        for exc_class, handler in self.app.exception_handlers.items():
            api.exception_handlers.setdefault(exc_class, handler)

    def is_open_route(self, api_routes: list[BaseRoute], scope: Scope) -> bool:
        """Whether the request goes to one of the app's routes (not the API's) that needs no
        key."""
        if self.needs_auth:
            return False
        if any(route.matches(scope)[0] is not Match.NONE for route in api_routes):
            return False
        return any(route.matches(scope)[0] is Match.FULL for route in self.app.router.routes)

    @asynccontextmanager
    async def lifespan(self, api: Starlette) -> AsyncIterator[None]:
        """The app's own start-up and shut-down (its lifespan or on_startup handlers)."""
        async with self.app.router.lifespan_context(api):
            yield
