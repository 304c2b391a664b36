"""`/runs/wait`: the final values as JSON; a thread remembers earlier runs."""

from __future__ import annotations

import httpx

ASSISTANT_UUID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"  # what `langgraph dev` names "agent"


def ask(text: str, **body: object) -> dict[str, object]:
    return {
        "assistant_id": "agent",
        "input": {"messages": [{"role": "user", "content": text}]},
        **body,
    }


async def test_wait_returns_the_final_values_and_names_the_run(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]

    response = await client.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    messages = response.json()["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[-1]["content"] == "The answer is 42."
    run_path = response.headers["content-location"]
    assert response.headers["location"] == f"{run_path}/join"
    run = (await client.get(run_path)).json()
    assert run["status"] == "success" and run["thread_id"] == thread_id
    assert run["assistant_id"] == ASSISTANT_UUID
    assert (await client.get(f"{run_path}/join")).json()["messages"] == messages


async def test_second_run_sees_the_conversation_so_far(client: httpx.AsyncClient) -> None:
    thread_id = (await client.post("/threads", json={})).json()["thread_id"]
    await client.post(f"/threads/{thread_id}/runs/wait", json=ask("what is 6 * 7?"))

    # The assistant's UUID names the same graph as its name.
    second = await client.post(
        f"/threads/{thread_id}/runs/wait", json=ask("and 2 + 3?", assistant_id=ASSISTANT_UUID)
    )

    messages = second.json()["messages"]
    assert len(messages) == 8
    assert messages[0]["content"] == "what is 6 * 7?"
    assert messages[-1]["content"] == "The answer is 5."
    runs = (await client.get(f"/threads/{thread_id}/runs")).json()
    assert [run["status"] for run in runs] == ["success", "success"]


async def test_run_can_create_its_thread(client: httpx.AsyncClient) -> None:
    thread_id = "6f0c1f9e-34a8-4d6a-9a51-0d1c1b1de0a1"

    response = await client.post(
        f"/threads/{thread_id}/runs/wait", json=ask("what is 1 + 1?", if_not_exists="create")
    )

    assert response.json()["messages"][-1]["content"] == "The answer is 2."
    thread = (await client.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "idle"
    assert thread["metadata"] == {"graph_id": "agent", "assistant_id": ASSISTANT_UUID}
    assert thread["values"]["messages"][-1]["content"] == "The answer is 2."
