// The thread-centric protocol (`POST /threads/{id}/commands`, `POST /threads/{id}/stream/events`)
// driven by the JavaScript SDK's `client.threads.stream()` and its SSE transport. The server must
// serve tests/service/contract_graph.py as "agent".
//
// Usage: node tests/js/thread_stream.mjs http://127.0.0.1:PORT
// Prints "ok <check>" per check; a failing check exits 1 naming it.
import assert from "node:assert/strict";

import { Client, ProtocolSseTransportAdapter } from "@langchain/langgraph-sdk";

const ASSISTANT = "agent";
const ANSWER = "The answer is 42.";
const QUESTION = { messages: [{ role: "user", content: "what is 6 * 7?" }] };
const APPROVE_CALCULATOR = { configurable: { approve_tools: ["calculator"] } };
const DEADLINE_MS = 20_000;

const lastContent = (values) => values.messages.at(-1).content;

// Resolves with the first event `matches` accepts, from now on; rejects after the deadline.
function nextEvent(thread, matches) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no such event in time")), DEADLINE_MS);
    const stop = thread.onEvent((event) => {
      if (!matches(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

const lifecycle = (status) => (event) =>
  event.method === "lifecycle" &&
  event.params.namespace.length === 0 &&
  event.params.data.event === status;

async function aRunStartedByCommandStreamsItsEvents(client) {
  const thread = client.threads.stream({ assistantId: ASSISTANT });
  const { messages, toolCalls } = thread; // subscribed before the run starts
  const { run_id: runId } = await thread.run.start({ input: QUESTION });
  const output = await thread.output;
  assert.equal(lastContent(output), ANSWER);
  const run = await client.runs.get(thread.threadId, runId);
  assert.equal(run.status, "success");
  const texts = [];
  for await (const message of messages) texts.push(await message.text);
  assert.equal(texts.at(-1), ANSWER);
  const calls = new Map(); // a call comes once when it starts, again when it ends
  for await (const call of toolCalls) calls.set(call.callId, [call.name, await call.output]);
  assert.deepEqual([...calls.values()], [["calculator", "42"]]);
  await thread.close();
  return thread.threadId;
}

async function aDroppedStreamResumesAfterItsLastSeq(_client, url, threadId) {
  const everything = await collect(url, threadId, { channels: ["lifecycle", "values"] });
  const cursor = everything[2].seq;
  const rest = await collect(url, threadId, { channels: ["lifecycle", "values"], since: cursor });
  assert.deepEqual(
    rest.map((event) => event.event_id),
    everything.slice(3).map((event) => event.event_id),
  );
  assert.ok(rest.every((event) => event.seq > cursor));
}

// The SDK's own SSE transport, read up to the run's terminal lifecycle event.
async function collect(url, threadId, filter) {
  const transport = new ProtocolSseTransportAdapter({ apiUrl: url, threadId });
  const handle = transport.openEventStream(filter);
  const events = [];
  for await (const event of handle.events) {
    events.push(event);
    if (lifecycle("completed")(event)) break;
  }
  handle.close();
  await transport.close();
  return events;
}

async function anInterruptIsAnsweredByInputRespond(client) {
  const thread = client.threads.stream({ assistantId: ASSISTANT });
  const asked = nextEvent(thread, (event) => event.method === "input.requested");
  await thread.run.start({ input: QUESTION, config: APPROVE_CALCULATOR });
  const request = await asked;
  assert.equal(request.params.data.payload.tool_calls[0].name, "calculator");
  assert.equal(thread.interrupts.length, 1);
  const completed = nextEvent(thread, lifecycle("completed"));
  await thread.input.respond({
    interrupt_id: request.params.data.interrupt_id,
    namespace: [],
    response: { approved: true },
  });
  await completed;
  const state = await client.threads.getState(thread.threadId);
  assert.equal(lastContent(state.values), ANSWER);
  await assert.rejects(
    thread.input.respond({ interrupt_id: "nope", namespace: [], response: {} }),
    (error) => error.status === 404,
  );
  await thread.close();
}

async function aCancelledRunEndsItsLifecycle(client) {
  const thread = client.threads.stream({ assistantId: ASSISTANT });
  const running = nextEvent(thread, (event) => event.method === "values");
  const interrupted = nextEvent(thread, lifecycle("interrupted"));
  const { run_id: runId } = await thread.run.start({ input: { messages: "hang" } });
  await running;
  await client.runs.cancel(thread.threadId, runId);
  await interrupted;
  assert.equal((await client.runs.get(thread.threadId, runId)).status, "interrupted");
  await thread.close();
}

async function refusals(_client, url) {
  const missing = "00000000-0000-4000-8000-000000000000";
  const transport = new ProtocolSseTransportAdapter({ apiUrl: url, threadId: missing });
  await assert.rejects(
    transport.send({ id: 1, method: "input.respond", params: { interrupt_id: "x" } }),
    (error) => error.status === 404,
  );
  await assert.rejects(
    transport.openEventStream({ channels: ["values"] }).ready,
    (error) => error.status === 404,
  );
  await assert.rejects(
    transport.send({ id: 1, method: "run.fly", params: {} }),
    (error) => error.status === 422,
  );
  await assert.rejects(
    transport.send({ id: "one", method: "run.start", params: { assistant_id: ASSISTANT } }),
    (error) => error.status === 422,
  );
  await transport.close();
}

const CHECKS = [
  ["a run started by command streams its events", aRunStartedByCommandStreamsItsEvents],
  ["a dropped stream resumes after its last seq", aDroppedStreamResumesAfterItsLastSeq],
  ["an interrupt is answered by input.respond", anInterruptIsAnsweredByInputRespond],
  ["a cancelled run ends its lifecycle", aCancelledRunEndsItsLifecycle],
  ["unknown threads and bad commands are refused", refusals],
];

const url = process.argv[2];
const client = new Client({ apiUrl: url });
// The first check's thread is the one the second replays.
let threadId;
for (const [name, check] of CHECKS) {
  try {
    threadId = (await check(client, url, threadId)) ?? threadId;
    console.log(`ok ${name}`);
  } catch (error) {
    console.log(`FAIL ${name}: ${error?.stack ?? error}`);
    process.exit(1);
  }
}
process.exit(0);
