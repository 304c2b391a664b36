"""The playground in a real headless Chromium (Debian's `chromium`, driven by Playwright) against
`threadloom serve` with the bundled model: what a person sees and clicks.

Screenshots of each step are written to `build/playground/` (not committed) to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server_process import REPO, ServerProcess

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO / "build" / "playground"
SEED_QUESTION = (
    "Who is Leo DiCaprio's girlfriend? What is her current age raised to the 0.43 power?"
)
UI_TIMEOUT_MS = 180_000

pytestmark = pytest.mark.slow
if not Path(CHROMIUM).exists():
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires it.", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("playground") / "threadloom.sqlite")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server: ServerProcess, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    if getattr(request.node, "failed_call", False):
        shoot(page, f"failed-{request.node.name}")
    context.close()
    assert not errors, f"the page raised: {errors}"


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    """Send `question` and wait until the run it starts has ended and the page shows the
    thread's state."""
    ended = int(page.evaluate("document.body.dataset.runsEnded || 0"))
    page.fill("#input", question)
    page.click("#send")
    wait_runs_ended(page, ended + 1)


def wait_runs_ended(page, count: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(f"body[data-runs-ended='{count}']", state="attached")


def test_seed_question_streams_tokens_tool_cards_and_a_timeline(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.wait_for_selector("#assistant option", state="attached")
    assert page.inner_text("#model-state") == "model bundled (local) · ready"
    # Count how often the answer's text grows while it streams.
    page.evaluate(
        """() => {
        window.tokenUpdates = 0;
        new MutationObserver(() => window.tokenUpdates++).observe(
            document.getElementById('messages'),
            {subtree: true, characterData: true, childList: true});
    }"""
    )
    ask(page, SEED_QUESTION)
    answer = page.locator("#messages li.ai", has_text="Vittoria Ceretti").last

    cards = page.locator(".tool-card")
    assert cards.filter(has_text="search").count() >= 1
    calculator = cards.filter(has_text="calculator").first
    assert "28^0.43" in calculator.inner_text()
    assert "4.19" in calculator.locator(".result").inner_text()
    assert "4.19" in answer.inner_text()
    assert page.evaluate("window.tokenUpdates") > 10
    timeline = page.locator("#timeline li")
    assert timeline.filter(has_text="agent").count() >= 3
    assert timeline.filter(has_text="tools").count() >= 2
    assert "tokens in" in timeline.filter(has_text="agent").first.inner_text()
    # The new thread is listed, named after the question, and the URL names it.
    assert page.locator("#threads li.current").inner_text().startswith("Who is Leo")
    assert "thread=" in page.url
    shoot(page, "1-seed-question")


def test_interrupt_is_shown_and_approved(page, server) -> None:  # type: ignore[no-untyped-def]
    careful = httpx.post(
        f"{server.url}/assistants",
        json={
            "graph_id": "agent",
            "name": "careful",
            "config": {"configurable": {"approve_tools": ["calculator"]}},
        },
    ).json()
    page.goto(f"{server.url}/#assistant={careful['assistant_id']}")
    page.wait_for_selector("#assistant option", state="attached")
    assert page.input_value("#assistant") == careful["assistant_id"]
    ask(page, "compute 17*23")
    assert page.locator("#interrupt").is_visible()
    assert "calculator" in page.inner_text("#interrupt-value")
    # A run paused for a person is not done.
    assert page.inner_text("#status") == "waiting for approval"
    shoot(page, "2-interrupt")
    page.reload()
    page.wait_for_selector("#interrupt:not([hidden])")
    assert page.inner_text("#status") == "waiting for approval"
    page.click("#approve")
    wait_runs_ended(page, 1)
    assert page.locator("#messages li.ai", has_text="391").count() >= 1
    assert page.locator("#interrupt").is_hidden()
    assert page.inner_text("#status") == "done"
    shoot(page, "3-approved")


def test_fork_from_an_earlier_checkpoint(page, server) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.wait_for_selector("#assistant option", state="attached")
    ask(page, "compute 17*23")
    ask(page, "compute 2*3")
    thread_id = page.url.split("thread=")[1].split("&")[0]

    page.click("#show-history")
    # The checkpoint after the first exchange: four messages, nothing left to run.
    first_exchange = page.locator("#checkpoints li", has_text="4 messages").filter(
        has_text="next: —"
    )
    first_exchange.locator("button").click()
    assert page.locator("#fork-note").is_visible()
    assert page.locator("#messages li", has_text="2*3").count() == 0
    shoot(page, "4-fork-picked")
    ask(page, "compute 5*5")

    state = httpx.get(f"{server.url}/threads/{thread_id}/state").json()
    asked = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
    assert asked == ["compute 17*23", "compute 5*5"]
    shoot(page, "5-forked")


def test_reload_shows_the_conversation_and_rejoins_a_running_run(page, server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url) as client:
        thread_id = client.post("/threads", json={"metadata": {"title": "later"}}).json()[
            "thread_id"
        ]
        client.post(
            f"/threads/{thread_id}/runs/wait",
            json={
                "assistant_id": "agent",
                "input": {"messages": [{"role": "user", "content": "compute 17*23"}]},
            },
        )
        # A run that starts a few seconds from now: the page must find it and follow it.
        client.post(
            f"/threads/{thread_id}/runs",
            json={
                "assistant_id": "agent",
                "input": {"messages": [{"role": "user", "content": "compute 6*7"}]},
                "after_seconds": 4,
            },
        )
    page.goto(f"{server.url}/#thread={thread_id}")
    page.locator("#messages li.ai", has_text="391").last.wait_for()
    # The page counts a run as ended only when it followed one: it found the pending run.
    wait_runs_ended(page, 1)
    shown = page.locator("#messages li.ai").count()
    assert "6*7" in page.locator("#messages li.human").last.inner_text()
    assert shown == 4  # a tool call and an answer for each question
    shoot(page, "6-rejoined")

    page.reload()
    page.locator("#messages li.ai", has_text="391").last.wait_for()
    assert page.locator("#messages li.ai").count() == shown
    assert page.locator("#messages li.human").count() == 2
    assert page.inner_text("#thread-title") == "later"


def test_threads_are_renamed_found_and_deleted(page, server) -> None:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url) as client:
        thread_id = client.post("/threads", json={"metadata": {"title": "draft"}}).json()[
            "thread_id"
        ]
    page.goto(f"{server.url}/#thread={thread_id}")
    page.wait_for_selector("#thread-title:has-text('draft')")
    page.once("dialog", lambda dialog: dialog.accept("Trip plans"))
    page.click("#rename-thread")
    page.wait_for_selector("#threads li.current:has-text('Trip plans')")
    page.fill("#thread-search", "trip")
    assert page.locator("#threads li").all_inner_texts()[0].startswith("Trip plans")
    page.fill("#thread-search", "no such words")
    assert page.locator("#threads li").count() == 0
    page.fill("#thread-search", "")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-thread")
    page.wait_for_selector("#thread-title:has-text('No thread')")
    assert httpx.get(f"{server.url}/threads/{thread_id}").status_code == 404
    assert page.locator(f"#threads li[data-thread-id='{thread_id}']").count() == 0


def test_threads_are_listed_per_assistant_with_distinct_labels(page, server) -> None:  # type: ignore[no-untyped-def]
    not_found: list[str] = []
    page.on("response", lambda response: response.status == 404 and not_found.append(response.url))
    with httpx.Client(base_url=server.url) as client:
        other = client.post("/assistants", json={"graph_id": "agent", "name": "other"}).json()
        agent = client.post(
            "/assistants/search", json={"graph_id": "agent", "metadata": {"created_by": "system"}}
        ).json()[0]
        # Made in the same millisecond or two: their ids share the time-ordered prefix.
        untitled = [
            client.post("/threads", json={"metadata": {"assistant_id": other["assistant_id"]}})
            .json()["thread_id"]
            for _ in range(2)
        ]
        client.post(
            "/threads",
            json={"metadata": {"assistant_id": agent["assistant_id"], "title": "agent's own"}},
        )
    page.goto(f"{server.url}/#assistant={other['assistant_id']}")
    page.wait_for_selector("#threads li >> nth=1")
    labels = page.locator("#threads li").all_inner_texts()
    assert len(labels) == 2
    titles = [label.splitlines()[0] for label in labels]
    assert len(set(titles)) == 2, titles
    assert {title[-8:] for title in titles} == {thread_id[-8:] for thread_id in untitled}

    page.select_option("#assistant", agent["assistant_id"])
    page.wait_for_selector("#threads li:has-text(\"agent's own\")")
    shown = page.locator("#threads li").all_inner_texts()
    assert not any(title in label for title in titles for label in shown)
    # A thread started from the page is listed under the assistant it was started with.
    page.click("#new-thread")
    page.wait_for_selector("#threads li.current")
    new_id = page.url.split("thread=")[1].split("&")[0]
    made = httpx.get(f"{server.url}/threads/{new_id}").json()
    assert made["metadata"]["assistant_id"] == agent["assistant_id"]
    # The page names its icon, and /favicon.ico answers too: no 404 anywhere.
    assert httpx.get(f"{server.url}/favicon.ico").status_code == 200
    assert not_found == []
