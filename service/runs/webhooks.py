"""Run webhooks: where a run's `webhook` may point, and POSTing the run's result there.

`WebhookPolicy` decides, when a run (or a cron) is created, whether its URL is allowed (422
otherwise), and checks it again before each delivery (a name may resolve elsewhere by then):
- the URL is `http` or `https`, no longer than `max_url_length`; with `https_only`, https;
- with an allow-list (`webhook_allowed_hosts`, `webhooks.url.allowed_domains`; exact names or
  `*.example.com`, which matches subdomains only), the host must be on it;
- a host not on the list must not resolve to a loopback, link-local (cloud metadata:
  169.254/16, fe80::/10), unspecified or reserved address, nor by default to a private one
  (10/8, 172.16/12, 192.168/16, the carrier-grade NAT range 100.64/10, fc00::/7; an IPv6 address
  mapping an IPv4 one is judged as that one): a listed host is trusted as configured,
  `webhooks.url.disable_loopback: false` allows loopback for all, and `webhook_allow_private`
  (or `webhooks.url.disable_private_ips: false`) private ranges. Every address the name
  resolves to is checked, and the delivery then connects to the checked address (the URL's
  name still sent as `Host` and TLS server name), so a name that resolves elsewhere between the
  check and the connection (DNS rebinding) reaches nothing new.

`WebhookSender` delivers in the background, so a run settles and answers as fast without one:
one POST of LangGraph Server's payload (the run row, `status`, `run_started_at`,
`run_ended_at`, `webhook_sent_at`, `values`, and `error` for a failed run; cut to
`webhooks.allowed_fields` if set, with `webhooks.headers`), with a timeout, retried with
exponential backoff on a connection error, a timeout, 408, 429 or a 5xx answer. A delivery that
still fails is logged; it never changes the run. Shutdown gives pending deliveries a moment,
then drops them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from threadloom.service.errors import ConfigurationError, InvalidRequest
from threadloom.service.http.json_codec import dumps
from threadloom.service.settings import Settings
from threadloom.service.storage.records import utc_now

logger = logging.getLogger(__name__)

PAYLOAD_FIELDS = frozenset(
    {
        "run_id",
        "thread_id",
        "assistant_id",
        "created_at",
        "updated_at",
        "metadata",
        "kwargs",
        "multitask_strategy",
        "status",
        "run_started_at",
        "run_ended_at",
        "webhook_sent_at",
        "values",
        "error",
    }
)
DEFAULT_MAX_URL_LENGTH = 2048
DEFAULT_ENV_PREFIX = "LG_WEBHOOK_"
_TEMPLATE = re.compile(r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_RETRIED_STATUSES = frozenset({408, 429})
# Private in practice though not in `ipaddress.is_private`: carrier-grade NAT (RFC 6598).
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Which webhook URLs runs may name (see the module), and what deliveries carry."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_suffixes: tuple[str, ...] = ()
    https_only: bool = True
    allow_loopback: bool = False
    block_private: bool = True
    allowed_ports: frozenset[int] = frozenset()
    max_url_length: int = DEFAULT_MAX_URL_LENGTH
    headers: Mapping[str, str] = field(default_factory=dict)
    allowed_fields: frozenset[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookPolicy:
        """The policy of the `webhook_*` settings and the `webhooks` section (which wins where
        both speak); raises `ConfigurationError` naming what is wrong."""
        try:
            return cls._from_settings(settings)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigurationError(f"Invalid webhooks section: {exc}") from None

    @classmethod
    def _from_settings(cls, settings: Settings) -> WebhookPolicy:
        section = settings.webhooks or {}
        url = section.get("url") or {}
        unknown = set(url) - {
            "allowed_domains",
            "require_https",
            "disable_loopback",
            "disable_private_ips",
            "allowed_ports",
            "max_url_length",
        }
        if unknown:
            raise ConfigurationError(f"Unknown webhooks.url keys: {', '.join(sorted(unknown))}")
        patterns = [*settings.webhook_allowed_hosts, *url.get("allowed_domains", [])]
        exact, suffixes = _host_patterns(patterns)
        return cls(
            allowed_hosts=exact,
            allowed_suffixes=suffixes,
            https_only=bool(url.get("require_https", settings.webhook_https_only)),
            allow_loopback=not url.get("disable_loopback", True),
            block_private=bool(url.get("disable_private_ips", not settings.webhook_allow_private)),
            allowed_ports=frozenset(int(port) for port in url.get("allowed_ports") or []),
            max_url_length=int(url.get("max_url_length", DEFAULT_MAX_URL_LENGTH)),
            headers=_headers(section.get("headers") or {}, section.get("env_prefix")),
            allowed_fields=_allowed_fields(section.get("allowed_fields")),
        )

    async def check(self, url: str) -> Address | None:
        """Raise `InvalidRequest` (422) unless runs may call `url`; the checked address to
        connect to, or None for a listed host (connected to by name)."""
        if len(url) > self.max_url_length:
            raise InvalidRequest(f"Webhook URL too long (over {self.max_url_length} characters).")
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise InvalidRequest(f"Invalid webhook URL {url!r}.") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequest(f"Invalid webhook URL {url!r}: use an absolute http(s) URL.")
        if self.https_only and parts.scheme != "https":
            raise InvalidRequest(
                "Webhook must use https (THREADLOOM_WEBHOOK_HTTPS_ONLY is on)."
            )
        if self.allowed_ports and port not in self.allowed_ports:
            raise InvalidRequest(f"Webhook port {port} not allowed.")
        host = parts.hostname.lower()
        if self._listed(host):
            return None
        if self.allowed_hosts or self.allowed_suffixes:
            raise InvalidRequest(
                f"Webhook host {host!r} is not allowed: it is not in the webhook allow-list "
                "(THREADLOOM_WEBHOOK_ALLOWED_HOSTS, webhooks.url.allowed_domains)."
            )
        addresses = await _addresses(host, port)
        for address in addresses:
            if reason := self._blocked(address):
                raise InvalidRequest(f"Webhook host {host!r} is blocked: {reason}.")
        # IPv4 first where there is one: a host without an IPv6 route still reaches it.
        return min(addresses, key=lambda address: address.version)

    def payload(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """`run` (the payload without `webhook_sent_at`) as it is sent now."""
        sent = {**run, "webhook_sent_at": utc_now().isoformat()}
        if self.allowed_fields is None:
            return sent
        return {key: value for key, value in sent.items() if key in self.allowed_fields}

    def _listed(self, host: str) -> bool:
        return host in self.allowed_hosts or any(host.endswith(s) for s in self.allowed_suffixes)

    def _blocked(self, address: Address) -> str | None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return None if self.allow_loopback else "it is a loopback address"
        if address.is_link_local or address.is_unspecified or address.is_multicast:
            return "it is a link-local, unspecified or multicast address"
        if address.is_reserved:
            return "it is a reserved address"
        if self.block_private and (address.is_private or address in _SHARED_ADDRESS_SPACE):
            return (
                "it is a private address (allow private ranges with "
                "THREADLOOM_WEBHOOK_ALLOW_PRIVATE, or list the host in "
                "THREADLOOM_WEBHOOK_ALLOWED_HOSTS)"
            )
        return None


class WebhookSender:
    """POSTs run results in the background (see the module)."""

    def __init__(
        self,
        policy: WebhookPolicy,
        *,
        timeout_s: float = 10.0,
        attempts: int = 4,
        backoff_s: float = 0.25,
    ) -> None:
        self.policy = policy
        self._attempts = attempts
        self._backoff_s = backoff_s
        # Redirects are not followed: a redirect could lead past the policy.
        self._client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False)
        self._pending: set[asyncio.Task[None]] = set()

    def send(self, url: str, run: Mapping[str, Any]) -> None:
        """Deliver `run` to `url` in the background; returns at once."""
        task = asyncio.create_task(self._deliver(url, run), name="webhook")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def aclose(self, grace_s: float) -> None:
        """Give pending deliveries `grace_s` to finish, drop the rest, and close."""
        if self._pending:
            _, late = await asyncio.wait(set(self._pending), timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                logger.warning("webhooks dropped at shutdown count=%d", len(late))
        await self._client.aclose()

    def _request(self, url: str, address: Address | None, run: Mapping[str, Any]) -> httpx.Request:
        """The POST of `run` to `url`, sent to the checked `address` when there is one."""
        parts = httpx.URL(url)
        headers = {"content-type": "application/json", **self.policy.headers}
        extensions: dict[str, Any] = {}
        if address is not None and parts.host != str(address):
            headers["host"] = parts.netloc.decode("ascii")
            extensions["sni_hostname"] = parts.host
            parts = parts.copy_with(host=str(address))
        return self._client.build_request(
            "POST",
            parts,
            content=dumps(self.policy.payload(run)),
            headers=headers,
            extensions=extensions,
        )

    async def _deliver(self, url: str, run: Mapping[str, Any]) -> None:
        run_id = run.get("run_id")
        for attempt in range(1, self._attempts + 1):
            try:
                address = await self.policy.check(url)
                response = await self._client.send(self._request(url, address, run))
            except InvalidRequest as exc:
                logger.warning("webhook not sent run_id=%s: %s", run_id, exc.detail)
                return
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    logger.info("webhook delivered run_id=%s attempt=%d", run_id, attempt)
                    return
                problem = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code not in _RETRIED_STATUSES:
                    break
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        logger.warning("webhook failed run_id=%s url_host=%s error=%s", run_id, _host(url), problem)


def result_payload(
    run: Mapping[str, Any],
    *,
    started_at: datetime | None,
    ended_at: datetime,
    values: Any,
    error: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """LangGraph Server's webhook payload of an ended run (`run` is its API row)."""
    payload = {
        **run,
        "run_started_at": (started_at or run["created_at"]).isoformat(),
        "run_ended_at": ended_at.isoformat(),
        "values": values,
    }
    if error is not None:
        payload["error"] = dict(error)
    return payload


def _host_patterns(patterns: list[Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    exact, suffixes = set(), []
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern.strip():
            raise ConfigurationError(f"Webhook allowed hosts must be host names; got {pattern!r}.")
        text = pattern.strip().lower()
        if text.startswith("*."):
            suffixes.append(text[1:])
        elif "*" in text:
            raise ConfigurationError(
                f"A wildcard in webhook allowed hosts only works as a '*.' prefix; got {pattern!r}."
            )
        else:
            exact.add(text)
    return frozenset(exact), tuple(suffixes)


def _headers(headers: Mapping[str, Any], env_prefix: str | None) -> dict[str, str]:
    """Static headers with `${{ env.NAME }}` templates filled in from the environment; only
    names with the prefix may be read, so a config cannot leak other variables."""
    prefix = env_prefix or DEFAULT_ENV_PREFIX

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if not name.startswith(prefix):
            raise ConfigurationError(
                f"webhooks.headers may read only variables starting with {prefix!r}; got {name!r}."
            )
        if name not in os.environ:
            raise ConfigurationError(f"webhooks.headers reads {name!r}, which is not set.")
        return os.environ[name]

    return {str(name): _TEMPLATE.sub(fill, str(value)) for name, value in headers.items()}


def _allowed_fields(fields: Any) -> frozenset[str] | None:
    if fields is None:
        return None
    unknown = set(fields) - PAYLOAD_FIELDS
    if unknown:
        raise ConfigurationError(
            f"webhooks.allowed_fields has unknown fields {sorted(unknown)}; "
            f"valid: {sorted(PAYLOAD_FIELDS)}."
        )
    return frozenset(fields)


async def _addresses(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise InvalidRequest(f"Webhook host {host!r} does not resolve.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
