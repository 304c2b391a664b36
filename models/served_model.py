"""`ServedModel`: which model name to send to an OpenAI-compatible server, found once.

Servers refuse a name they do not serve (vLLM answers 404, `transformers serve` 400), so the
name is `THREADLOOM_ENDPOINT_MODEL` when set, and otherwise the one model the server lists at
`GET /v1/models` (vLLM, SGLang, llama.cpp's server, `transformers serve` and TGI all list it).

When the server cannot be reached at start-up, the look-up is put off to the first model call
and tried again on each call until it succeeds: a server that is still loading its weights
(vLLM takes minutes) must not stop threadloom from starting, and runs then fail with a clear
`EndpointError` until the server is up. A server that answers but offers no usable model is a
start-up error naming the models it offers.

Example:
    >>> served = ServedModel("http://127.0.0.1:8080", configured=None)
    >>> served.check_at_start_up()   # one GET /v1/models
    >>> served.name()                # e.g. "Qwen/Qwen2.5-7B-Instruct"
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import httpx

from threadloom.models.endpoint_errors import (
    EndpointError,
    error_detail,
    timeout_error,
    unreachable_error,
)

logger = logging.getLogger(__name__)

_LIST_TIMEOUT_S = 10.0


def api_base(endpoint_url: str) -> str:
    """The OpenAI API base of a server: `http://host:8000` and `http://host:8000/v1` both give
    `http://host:8000/v1`."""
    base = endpoint_url.rstrip("/")
    return base if base.endswith("/v1") else f"{base}/v1"


class ServedModel:
    """The model name for requests: the configured one, or the server's only model.

    `preferred` (THREADLOOM_MODEL when it is not the bundled default) picks among several.
    `offered` keeps the names the server listed, for error messages about a wrong name.
    Safe to share between threads; the look-up runs at most once after it succeeds.
    """

    def __init__(
        self,
        endpoint_url: str,
        configured: str | None,
        *,
        api_key: str | None = None,
        preferred: str | None = None,
        timeout_s: float = _LIST_TIMEOUT_S,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.offered: tuple[str, ...] = ()
        self._configured = configured
        self._name = configured
        self._preferred = preferred
        self._headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = min(timeout_s, _LIST_TIMEOUT_S)
        self._lock = threading.Lock()

    @property
    def known(self) -> str | None:
        """The name when already known, without contacting the server."""
        return self._name

    def check_at_start_up(self) -> None:
        """Look the name up now; an unreachable server only defers the look-up (logged).

        Raises `EndpointError` when the server answers but offers no model that fits.
        With a configured name, a server listing other names is only warned about: llama.cpp's
        server and TGI answer any name.
        """
        try:
            offered = self._list()
        except EndpointError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                raise
            logger.warning("model endpoint not reachable at start-up; will retry: %s", exc)
            return
        if self._configured is not None:
            if offered and self._configured not in offered:
                logger.warning(
                    "THREADLOOM_ENDPOINT_MODEL=%s is not among the models %s lists (%s)",
                    self._configured, self.endpoint_url, ", ".join(offered),
                )
            return
        self._choose(offered)

    def name(self) -> str:
        """The model name, looked up first if it is not known yet (raises `EndpointError`)."""
        if self._name is None:
            with self._lock:
                if self._name is None:
                    self._choose(self._list())
        assert self._name is not None
        return self._name

    def _choose(self, offered: Sequence[str]) -> None:
        if len(offered) == 1:
            self._name = offered[0]
        elif self._preferred in offered:
            self._name = self._preferred
        elif not offered:
            raise EndpointError(
                f"The model server at {self.endpoint_url} lists no model at /v1/models; set "
                "THREADLOOM_ENDPOINT_MODEL to the name it serves."
            )
        else:
            raise EndpointError(
                f"The model server at {self.endpoint_url} offers several models "
                f"({', '.join(offered)}); set THREADLOOM_ENDPOINT_MODEL to the one to use."
            )
        logger.info("model endpoint %s serves model=%s", self.endpoint_url, self._name)

    def _list(self) -> tuple[str, ...]:
        url = f"{api_base(self.endpoint_url)}/models"
        where = f"at {self.endpoint_url}"
        try:
            response = httpx.get(url, headers=self._headers, timeout=self._timeout_s)
        except httpx.TimeoutException as exc:
            raise timeout_error(where, exc) from exc
        except httpx.TransportError as exc:
            raise unreachable_error(where, exc) from exc
        if response.status_code != 200:
            detail = _detail(response)
            raise EndpointError(
                f"The model server at {self.endpoint_url} answered {response.status_code} to "
                f"GET /v1/models: {detail}. Set THREADLOOM_ENDPOINT_MODEL to the model name it "
                "serves, or check THREADLOOM_ENDPOINT_URL and the key.",
                response.status_code,
            )
        try:
            entries = response.json()["data"]
            self.offered = tuple(str(entry["id"]) for entry in entries)
        except (ValueError, KeyError, TypeError) as exc:
            raise EndpointError(
                f"The model server at {self.endpoint_url} answered GET /v1/models with no "
                "OpenAI model list; set THREADLOOM_ENDPOINT_MODEL to the model name it serves."
            ) from exc
        return self.offered


def _detail(response: httpx.Response) -> str:
    try:
        return error_detail(response.json()) or response.reason_phrase
    except ValueError:
        return response.reason_phrase
