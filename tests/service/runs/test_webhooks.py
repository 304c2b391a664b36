"""Run webhooks: a run's result POSTed to a real receiver on loopback, retried when the receiver
fails, refused at creation (422) when the policy does not allow the URL, and without effect on
the run."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.service.live_server import LiveServer, StartServer
from threadloom.service.errors import ConfigurationError, InvalidRequest
from threadloom.service.runs.webhooks import WebhookPolicy
from threadloom.service.settings import Settings

ASK = {"messages": [{"role": "user", "content": "what is 6 * 7?"}]}
BAD_INPUT = {"messages": 12345}  # LangGraph fails to coerce it: the run ends in error
LOOPBACK = {"webhook_allowed_hosts": ["127.0.0.1"], "webhook_https_only": False}
DELIVERY_TIMEOUT_S = 20
CLOSING_HEADERS = "content-length: 0\r\nconnection: close\r\n"


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class Receiver:
    """An HTTP server on loopback that answers each POST with the next of `statuses` (then
    200), and holds every answer while `gate` is clear."""

    statuses: list[int] = field(default_factory=list)
    deliveries: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        request_line, *header_lines = head.strip().split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in header_lines)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await self.gate.wait()
        status = self.statuses.pop(0) if self.statuses else 200
        await self.deliveries.put(Delivery(request_line.split()[1], headers, json.loads(body)))
        writer.write(f"HTTP/1.1 {status} X\r\n{CLOSING_HEADERS}\r\n".encode())
        await writer.drain()
        writer.close()

    async def next(self) -> Delivery:
        return await asyncio.wait_for(self.deliveries.get(), DELIVERY_TIMEOUT_S)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    receiver.gate.set()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/run"
    async with server:
        yield receiver
        server.close()


@pytest.fixture
async def http(start: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    server = await start(**LOOPBACK)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        yield client


async def new_thread(http: httpx.AsyncClient) -> str:
    return (await http.post("/threads", json={})).json()["thread_id"]


async def test_a_finished_run_posts_its_result(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    thread_id = await new_thread(http)
    answer = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
    )
    assert answer.status_code == 200, answer.text

    delivery = await receiver.next()

    payload = delivery.body
    assert delivery.path == "/hooks/run"
    assert delivery.headers["content-type"] == "application/json"
    assert payload["thread_id"] == thread_id and payload["status"] == "success"
    assert payload["run_id"] == answer.headers["content-location"].rsplit("/", 1)[-1]
    assert payload["assistant_id"] and payload["kwargs"]["webhook"] == receiver.url
    assert payload["values"]["messages"][-1]["content"] == "The answer is 42."
    for moment in ("created_at", "run_started_at", "run_ended_at", "webhook_sent_at"):
        assert isinstance(payload[moment], str)
    assert "error" not in payload
    assert receiver.deliveries.empty()


async def test_a_failed_run_posts_its_error_and_a_stateless_run_its_values(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    thread_id = await new_thread(http)
    await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": BAD_INPUT, "webhook": receiver.url},
    )
    failed = (await receiver.next()).body
    assert failed["status"] == "error"
    assert failed["error"]["error"] == "NotImplementedError"

    await http.post(
        "/runs/wait", json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url}
    )
    stateless = (await receiver.next()).body
    assert stateless["status"] == "success"
    assert stateless["values"]["messages"][-1]["content"] == "The answer is 42."


async def test_a_receiver_failing_twice_gets_the_result_on_the_third_try(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    thread_id = await new_thread(http)
    await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
    )

    tries = [await receiver.next() for _ in range(3)]

    assert len({delivery.body["run_id"] for delivery in tries}) == 1
    assert all(delivery.body["status"] == "success" for delivery in tries)
    runs = (await http.get(f"/threads/{thread_id}/runs")).json()
    assert [run["status"] for run in runs] == ["success"]


async def test_a_refusing_receiver_is_not_retried_and_the_run_is_unaffected(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [400]
    thread_id = await new_thread(http)
    first = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
    )
    assert (await receiver.next()).body["status"] == "success"
    # A second run's delivery is the next one the receiver sees: the first was not retried.
    second = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
    )
    run_id = second.headers["content-location"].rsplit("/", 1)[-1]
    assert (await receiver.next()).body["run_id"] == run_id
    assert first.status_code == second.status_code == 200


async def test_the_run_settles_while_its_webhook_is_still_in_flight(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.gate.clear()  # the receiver holds its answer
    thread_id = await new_thread(http)
    answer = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
    )

    assert answer.status_code == 200
    thread = (await http.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    assert receiver.deliveries.empty()
    receiver.gate.set()
    assert (await receiver.next()).body["status"] == "success"


@pytest.mark.parametrize(
    ("webhook", "detail"),
    [
        ("http://localhost:9/hook", "allow-list"),
        ("http://10.0.0.1/hook", "allow-list"),
        ("ftp://127.0.0.1/hook", "absolute http"),
        ("not a url", "absolute http"),
    ],
)
async def test_a_disallowed_webhook_is_422_and_starts_no_run(
    http: httpx.AsyncClient, webhook: str, detail: str
) -> None:
    thread_id = await new_thread(http)
    response = await http.post(
        f"/threads/{thread_id}/runs",
        json={"assistant_id": "agent", "input": ASK, "webhook": webhook},
    )

    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
    assert (await http.get(f"/threads/{thread_id}/runs")).json() == []
    cron = await http.post(
        "/runs/crons", json={"assistant_id": "agent", "schedule": "0 0 1 1 *", "webhook": webhook}
    )
    assert cron.status_code == 422
    assert (await http.post("/runs/crons/search", json={})).json() == []


async def test_a_crons_runs_post_their_results(start: StartServer, receiver: Receiver) -> None:
    server = await start(**LOOPBACK)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        cron = await http.post(
            "/runs/crons",
            json={
                "assistant_id": "agent",
                "schedule": "0 0 1 1 *",
                "input": ASK,
                "webhook": receiver.url,
            },
        )
        assert cron.status_code == 200, cron.text
        scheduler = server.app.state.services.cron_jobs.scheduler
        (run,) = await scheduler.tick(datetime.fromisoformat(cron.json()["next_run_date"]))

        delivery = await receiver.next()

    assert delivery.body["run_id"] == run.run_id and delivery.body["status"] == "success"
    assert delivery.body["values"]["messages"][-1]["content"] == "The answer is 42."


async def test_the_default_policy_wants_https_and_refuses_loopback_and_metadata_hosts(
    client: httpx.AsyncClient,
) -> None:
    thread_id = await new_thread(client)
    refusals = {
        "http://example.com/hook": "https",
        "https://127.0.0.1/hook": "loopback",
        "https://[::1]/hook": "loopback",
        "https://169.254.169.254/latest/meta-data": "link-local",
    }
    for webhook, detail in refusals.items():
        response = await client.post(
            f"/threads/{thread_id}/runs",
            json={"assistant_id": "agent", "input": ASK, "webhook": webhook},
        )
        assert response.status_code == 422, webhook
        assert detail in response.json()["detail"], webhook


async def test_the_webhooks_section_sets_headers_fields_and_domains(
    start: StartServer, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LG_WEBHOOK_TOKEN", "s3cret")
    server: LiveServer = await start(
        webhooks={
            "url": {"allowed_domains": ["127.0.0.1"], "require_https": False},
            "headers": {"x-token": "Bearer ${{ env.LG_WEBHOOK_TOKEN }}"},
            "allowed_fields": ["run_id", "status", "values"],
        }
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        thread_id = await new_thread(http)
        await http.post(
            f"/threads/{thread_id}/runs/wait",
            json={"assistant_id": "agent", "input": ASK, "webhook": receiver.url},
        )
    delivery = await receiver.next()

    assert delivery.headers["x-token"] == "Bearer s3cret"
    assert set(delivery.body) == {"run_id", "status", "values"}


async def test_policy_matching_of_wildcards_and_ports() -> None:
    policy = WebhookPolicy.from_settings(
        Settings(
            webhook_allowed_hosts=["*.hooks.example.com"],
            webhooks={"url": {"allowed_ports": [443, 8443]}},
        )
    )
    await policy.check("https://a.hooks.example.com/x")
    await policy.check("https://b.a.hooks.example.com:8443/x")
    for refused in (
        "https://hooks.example.com/x",  # the wildcard matches subdomains only
        "https://evilhooks.example.com/x",
        "https://a.hooks.example.com:444/x",
        "https://a.hooks.example.com/" + "x" * 3000,
    ):
        with pytest.raises(InvalidRequest):
            await policy.check(refused)


@pytest.mark.parametrize(
    "webhooks",
    [
        {"url": {"allowed_domains": ["hooks.*.com"]}},
        {"url": {"require_http": True}},
        {"allowed_fields": ["run_id", "secrets"]},
        {"headers": {"x": "${{ env.HOME }}"}},
        {"url": {"allowed_ports": ["https"]}},
        {"url": "https only"},
    ],
)
async def test_an_invalid_webhooks_section_refuses_to_start(
    start: StartServer, webhooks: dict[str, Any]
) -> None:
    with pytest.raises(ConfigurationError):
        await start(webhooks=webhooks)


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.254",
        "192.168.1.1",
        "100.64.0.1",
        "100.127.255.254",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[::ffff:10.0.0.1]",
    ],
)
async def test_private_ranges_are_refused_by_default(address: str) -> None:
    policy = WebhookPolicy.from_settings(Settings())
    with pytest.raises(InvalidRequest, match="private address"):
        await policy.check(f"https://{address}/hook")

    allowed = WebhookPolicy.from_settings(Settings(webhook_allow_private=True))
    checked = await allowed.check(f"https://{address}/hook")
    assert checked == ipaddress.ip_address(address.strip("[]"))


@pytest.mark.parametrize(
    "address", ["169.254.169.254", "[fe80::1]", "127.0.0.53", "[::ffff:127.0.0.1]"]
)
async def test_link_local_and_loopback_stay_refused_with_private_ranges_allowed(
    address: str,
) -> None:
    policy = WebhookPolicy.from_settings(Settings(webhook_allow_private=True))
    with pytest.raises(InvalidRequest, match=r"link-local|loopback"):
        await policy.check(f"https://{address}/hook")


async def test_a_name_is_judged_by_the_address_it_resolves_to() -> None:
    policy = WebhookPolicy.from_settings(Settings())
    with pytest.raises(InvalidRequest, match="'localhost' is blocked: it is a loopback"):
        await policy.check("https://localhost/hook")


async def test_a_delivery_connects_to_the_checked_address_under_the_urls_name(
    start: StartServer, receiver: Receiver
) -> None:
    server = await start(webhooks={"url": {"disable_loopback": False, "require_https": False}})
    by_name = receiver.url.replace("127.0.0.1", "localhost")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        thread_id = await new_thread(http)
        await http.post(
            f"/threads/{thread_id}/runs/wait",
            json={"assistant_id": "agent", "input": ASK, "webhook": by_name},
        )
    delivery = await receiver.next()

    assert delivery.headers["host"] == by_name.split("/")[2]
    assert delivery.path == "/hooks/run"
