// The SDK contract (tests/service/sdk_contract.py) driven by the LangGraph JavaScript SDK, as
// browser chat UIs use it. The server must serve tests/service/contract_graph.py as "agent".
//
// Usage: node tests/js/contract.mjs http://127.0.0.1:PORT
// Prints "ok <check>" per check; a failing check exits 1 naming it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { Client } from "@langchain/langgraph-sdk";

const GRAPH = "agent";
// LangGraph Server's system assistant of a graph: uuid5 of the graph id.
const SYSTEM_ASSISTANT = "fe096781-5601-53d2-b2f6-0d3403f7e9ca";
const ANSWER = "The answer is 42.";
const HANG = "hang";
const MISSING = "00000000-0000-4000-8000-000000000000";

const ask = (text) => ({ messages: [{ role: "user", content: text }] });
const contents = (values) => (values?.messages ?? []).map((message) => message.content);

async function statusOf(call) {
  try {
    await call;
  } catch (error) {
    if (error.status === undefined) throw error;
    return error.status;
  }
  assert.fail("the call succeeded; an error status was expected");
}

async function collect(parts) {
  const found = [];
  for await (const part of parts) found.push(part);
  return found;
}

async function newThread(client, metadata) {
  return (await client.threads.create(metadata ? { metadata } : undefined)).thread_id;
}

// A run that generates until cancelled; returns once it runs, its input checkpointed.
async function startHangingRun(client, threadId, text = HANG) {
  const created = [];
  const parts = client.runs.stream(threadId, GRAPH, {
    input: ask(text),
    streamMode: "values",
    durability: "sync",
    onRunCreated: (run) => created.push(run),
  });
  for await (const part of parts) {
    if (part.event === "values") break;
  }
  return created[0].run_id;
}

// Assistants ----------------------------------------------------------------------------------

async function assistantsAreVersionedConfigurations(client) {
  const system = await client.assistants.get(SYSTEM_ASSISTANT);
  assert.equal(system.graph_id, GRAPH);
  assert.deepEqual(system.metadata, { created_by: "system" });

  const terse = await client.assistants.create({
    graphId: GRAPH,
    config: { configurable: { system_prompt: "Be terse." } },
    metadata: { contract: "js-assistants" },
    name: "Terse Helper",
  });
  assert.equal(terse.version, 1);
  assert.deepEqual(terse.context, { system_prompt: "Be terse." });
  assert.deepEqual(await client.assistants.get(terse.assistant_id), terse);

  const changed = await client.assistants.update(terse.assistant_id, {
    metadata: { round: 2 },
    config: { configurable: { tools: ["search"] } },
  });
  assert.equal(changed.version, 2);
  assert.deepEqual(changed.metadata, { contract: "js-assistants", round: 2 });
  const versions = await client.assistants.getVersions(terse.assistant_id);
  assert.deepEqual(versions.map((v) => v.version), [2, 1]);
  const restored = await client.assistants.setLatest(terse.assistant_id, 1);
  assert.equal(restored.version, 1);
  assert.deepEqual(restored.config, terse.config);

  const found = await client.assistants.search({ metadata: { contract: "js-assistants" } });
  assert.deepEqual(found.map((a) => a.assistant_id), [terse.assistant_id]);
  assert.equal(await client.assistants.count({ metadata: { contract: "js-assistants" } }), 1);
  assert.equal(await statusOf(client.assistants.create({ graphId: "no-such-graph" })), 404);
  assert.equal(await statusOf(client.assistants.get(MISSING)), 404);
  const duplicate = client.assistants.create({ graphId: GRAPH, assistantId: terse.assistant_id });
  assert.equal(await statusOf(duplicate), 409);
  await client.assistants.delete(terse.assistant_id);
  assert.equal(await statusOf(client.assistants.get(terse.assistant_id)), 404);
}

async function assistantsDescribeTheirGraph(client) {
  const drawing = await client.assistants.getGraph(GRAPH);
  assert.deepEqual(
    new Set(drawing.nodes.map((node) => node.id)),
    new Set(["__start__", "agent", "tools", "__end__"]),
  );
  const schemas = await client.assistants.getSchemas(SYSTEM_ASSISTANT);
  assert.equal(schemas.graph_id, GRAPH);
  assert.ok("messages" in schemas.input_schema.properties);
}

async function assistantConfigurationReachesTheGraph(client) {
  const pirate = await client.assistants.create({
    graphId: GRAPH,
    config: { configurable: { system_prompt: "Talk like a pirate." } },
  });
  const told = await client.runs.wait(null, pirate.assistant_id, {
    input: ask("your instructions?"),
  });
  assert.equal(contents(told).at(-1), "My instructions: Talk like a pirate.");
  await client.assistants.delete(pirate.assistant_id);
}

// Threads -------------------------------------------------------------------------------------

async function threadsAreCreatedChangedFoundAndDeleted(client) {
  const thread = await client.threads.create({ metadata: { contract: "js-threads", n: 1 } });
  const threadId = thread.thread_id;
  assert.equal(thread.status, "idle");
  const patched = await client.threads.update(threadId, { metadata: { n: 2 } });
  assert.deepEqual(patched.metadata, { contract: "js-threads", n: 2 });
  const found = await client.threads.search({ metadata: { contract: "js-threads" } });
  assert.deepEqual(found.map((t) => t.thread_id), [threadId]);
  // `select` answers only the fields asked for.
  const selected = await client.threads.search({
    metadata: { contract: "js-threads" },
    select: ["thread_id", "status"],
  });
  assert.deepEqual(selected, [{ thread_id: threadId, status: "idle" }]);
  assert.equal(await client.threads.count({ metadata: { contract: "js-threads", n: 2 } }), 1);
  assert.equal(await statusOf(client.threads.update(MISSING, { metadata: {} })), 404);
  await client.threads.delete(threadId);
  assert.equal(await statusOf(client.threads.get(threadId)), 404);
}

async function threadStateHistoryAndCheckpoints(client) {
  const threadId = await newThread(client);
  await client.runs.wait(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  const state = await client.threads.getState(threadId);
  assert.equal(contents(state.values).at(-1), ANSWER);
  assert.deepEqual(state.next, []);
  const history = await client.threads.getHistory(threadId, { limit: 10 });
  assert.deepEqual(history.map((s) => s.metadata.step), [3, 2, 1, 0, -1]);
  assert.deepEqual(history[0].checkpoint, state.checkpoint);
  const earlier = history[2].checkpoint;
  const byId = await client.threads.getState(threadId, earlier.checkpoint_id);
  const byCheckpoint = await client.threads.getState(threadId, earlier);
  assert.deepEqual(byId.values, history[2].values);
  assert.deepEqual(byCheckpoint.values, history[2].values);
  // Paging back: the states before a checkpoint, given as a config as the SDK sends it.
  const older = await client.threads.getHistory(threadId, {
    limit: 10,
    before: { configurable: { checkpoint_id: history[1].checkpoint.checkpoint_id } },
  });
  assert.deepEqual(older.map((s) => s.metadata.step), [1, 0, -1]);
  const onlyInput = await client.threads.getHistory(threadId, { metadata: { source: "input" } });
  assert.deepEqual(onlyInput.map((s) => s.metadata.step), [-1]);
}

async function aCopyGoesItsOwnWay(client) {
  const threadId = await newThread(client, { contract: "js-copy" });
  await client.runs.wait(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  const copy = await client.threads.copy(threadId);
  assert.notEqual(copy.thread_id, threadId);
  await client.runs.wait(copy.thread_id, GRAPH, { input: ask("what is 2 + 3?") });
  const copied = await client.threads.getState(copy.thread_id);
  assert.equal(contents(copied.values).at(-1), "The answer is 5.");
  assert.equal(contents((await client.threads.getState(threadId)).values).at(-1), ANSWER);
}

async function threadsArePruned(client) {
  const kept = await newThread(client, { contract: "js-prune" });
  const pruned = [await newThread(client, { contract: "js-prune" })];
  assert.deepEqual(await client.threads.prune([...pruned, MISSING]), { pruned_count: 1 });
  const found = await client.threads.search({ metadata: { contract: "js-prune" } });
  assert.deepEqual(found.map((t) => t.thread_id), [kept]);
}

// Streaming -----------------------------------------------------------------------------------

async function everyStreamMode(client) {
  const threadId = await newThread(client);
  const created = [];
  const parts = await collect(
    client.runs.stream(threadId, GRAPH, {
      input: ask("what is 6 * 7?"),
      streamMode: ["values", "updates", "messages-tuple", "debug", "tasks", "checkpoints"],
      onRunCreated: (run) => created.push(run),
    }),
  );
  const names = parts.map((part) => part.event);
  assert.equal(names[0], "metadata");
  assert.equal(parts[0].data.run_id, created[0].run_id);
  for (const mode of ["values", "updates", "messages", "debug", "tasks", "checkpoints"]) {
    assert.ok(names.includes(mode), `no ${mode} event in ${names}`);
  }
  const values = parts.filter((p) => p.event === "values").map((p) => p.data);
  assert.deepEqual(contents(values.at(-1)), ["what is 6 * 7?", "", "42", ANSWER]);
  const updates = parts.filter((p) => p.event === "updates").map((p) => Object.keys(p.data)[0]);
  assert.deepEqual(updates, ["agent", "tools", "agent"]);
  const tokens = parts
    .filter((p) => p.event === "messages")
    .map((p) => p.data)
    .filter(([chunk, meta]) => chunk.type === "AIMessageChunk" && meta.langgraph_node === "agent")
    .map(([chunk]) => chunk.content);
  assert.equal(tokens.join(""), ANSWER);
  assert.ok(tokens.length > 1);
  assert.equal((await client.runs.get(threadId, created[0].run_id)).status, "success");
}

async function messagesModeSendsPartialAndCompleteMessages(client) {
  const parts = await collect(
    client.runs.stream(null, GRAPH, { input: ask("what is 6 * 7?"), streamMode: "messages" }),
  );
  const names = new Set(parts.map((part) => part.event));
  assert.deepEqual(
    names,
    new Set(["metadata", "messages/metadata", "messages/partial", "messages/complete"]),
  );
  const partial = parts.filter((p) => p.event === "messages/partial").map((p) => p.data[0]);
  assert.equal(partial.at(-1).content, ANSWER);
}

async function aFailingRunIsAnErrorEvent(client) {
  const threadId = await newThread(client);
  const parts = await collect(
    client.runs.stream(threadId, GRAPH, { input: { messages: 12345 }, streamMode: "updates" }),
  );
  assert.deepEqual(parts.map((part) => part.event), ["metadata", "error"]);
  const thread = await client.threads.get(threadId);
  assert.equal(thread.status, "error");
  const recovered = await client.runs.wait(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  assert.equal(contents(recovered).at(-1), ANSWER);
}

// Background runs and rejoining -------------------------------------------------------------

async function backgroundRunsAreListedJoinedAndDeleted(client) {
  const threadId = await newThread(client);
  const run = await client.runs.create(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  assert.equal(run.status, "pending");
  assert.equal(run.assistant_id, SYSTEM_ASSISTANT);
  assert.equal(contents(await client.runs.join(threadId, run.run_id)).at(-1), ANSWER);
  const second = await client.runs.create(threadId, GRAPH, { input: ask("what is 2 + 3?") });
  await client.runs.join(threadId, second.run_id);
  const listed = await client.runs.list(threadId);
  assert.deepEqual(listed.map((r) => r.run_id), [second.run_id, run.run_id]);
  await client.runs.delete(threadId, second.run_id);
  assert.equal(await statusOf(client.runs.get(threadId, second.run_id)), 404);
  assert.equal(contents((await client.threads.getState(threadId)).values).at(-1), ANSWER);
}

async function aDroppedStreamIsReplayed(client) {
  const threadId = await newThread(client);
  const created = [];
  const parts = await collect(
    client.runs.stream(threadId, GRAPH, {
      input: ask("what is 6 * 7?"),
      streamMode: ["values", "updates"],
      streamResumable: true,
      onRunCreated: (run) => created.push(run),
    }),
  );
  assert.ok(parts.every((part) => part.id));
  const runId = created[0].run_id;
  const seen = (list) => list.map((p) => [p.event, p.data]);
  const after = await collect(
    client.runs.joinStream(threadId, runId, { lastEventId: parts[1].id }),
  );
  assert.deepEqual(seen(after), seen(parts.slice(2)));
  // "-": the whole run again, from its first event.
  const all = await collect(client.runs.joinStream(threadId, runId, { lastEventId: "-" }));
  assert.deepEqual(seen(all), seen(parts));
}

async function aThreadStreamReplaysItsRuns(client) {
  const threadId = await newThread(client);
  const created = [];
  const parts = await collect(
    client.runs.stream(threadId, GRAPH, {
      input: ask("what is 6 * 7?"),
      streamMode: ["values", "updates"],
      streamResumable: true,
      onRunCreated: (run) => created.push(run),
    }),
  );
  const followed = [];
  const controller = new AbortController();
  const stream = client.threads.joinStream(threadId, {
    lastEventId: "-",
    signal: controller.signal,
  });
  for await (const part of stream) {
    followed.push(part);
    if (part.data?.status === "run_done" && part.data.run_id === created[0].run_id) break;
  }
  controller.abort();
  const seen = (list) => list.map((p) => [p.event, p.data]);
  assert.deepEqual(seen(followed.slice(0, -1)), seen(parts));
}

async function statelessRunsLeaveNoThreadUnlessKept(client) {
  const before = await client.threads.count();
  const waited = await client.runs.wait(null, GRAPH, { input: ask("what is 6 * 7?") });
  assert.equal(contents(waited).at(-1), ANSWER);
  assert.equal(await client.threads.count(), before);
  const kept = [];
  await client.runs.wait(null, GRAPH, {
    input: ask("what is 3 + 3?"),
    onCompletion: "keep",
    onRunCreated: (run) => kept.push(run),
  });
  const thread = await client.threads.get(kept[0].thread_id);
  assert.equal(contents(thread.values).at(-1), "The answer is 6.");
  await client.threads.delete(kept[0].thread_id);
}

// One run per thread --------------------------------------------------------------------------

async function multitaskStrategies(client) {
  const threadId = await newThread(client);
  const hanging = await startHangingRun(client, threadId);
  assert.equal((await client.threads.get(threadId)).status, "busy");
  const rejected = client.runs.create(threadId, GRAPH, {
    input: ask("what is 1 + 1?"),
    multitaskStrategy: "reject",
  });
  assert.equal(await statusOf(rejected), 409);
  const interrupting = await client.runs.create(threadId, GRAPH, {
    input: ask("what is 3 + 3?"),
    multitaskStrategy: "interrupt",
  });
  const result = await client.runs.join(threadId, interrupting.run_id);
  assert.equal(contents(result).at(-1), "The answer is 6.");
  assert.equal((await client.runs.get(threadId, hanging)).status, "interrupted");
}

async function cancelInterruptsOrRollsBack(client) {
  const threadId = await newThread(client);
  await client.runs.wait(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  let hanging = await startHangingRun(client, threadId);
  await client.runs.cancel(threadId, hanging, true);
  assert.equal((await client.runs.get(threadId, hanging)).status, "interrupted");
  assert.deepEqual((await client.threads.getState(threadId)).next, ["agent"]);

  hanging = await startHangingRun(client, threadId, `${HANG} too`);
  await client.runs.cancel(threadId, hanging, true, "rollback");
  const state = await client.threads.getState(threadId);
  assert.equal(contents(state.values).at(-1), HANG);
  assert.equal(await statusOf(client.runs.get(threadId, hanging)), 404);
}

async function batchesAndCancellingMany(client) {
  const batch = await client.runs.createBatch([
    { assistantId: GRAPH, input: ask("what is 1 + 1?") },
    { assistantId: GRAPH, input: ask("what is 2 + 2?") },
  ]);
  assert.equal(new Set(batch.map((run) => run.thread_id)).size, 2);
  const threadId = await newThread(client);
  const hanging = await startHangingRun(client, threadId);
  await client.runs.cancelMany({ threadId, runIds: [hanging] });
  await client.runs.join(threadId, hanging);
  assert.equal((await client.runs.get(threadId, hanging)).status, "interrupted");
}

// Human in the loop ---------------------------------------------------------------------------

async function interruptBeforeANodeThenContinue(client) {
  const threadId = await newThread(client);
  const paused = await client.runs.wait(threadId, GRAPH, {
    input: ask("what is 6 * 7?"),
    interruptBefore: ["tools"],
  });
  assert.equal(paused.messages.at(-1).tool_calls[0].name, "calculator");
  assert.deepEqual((await client.threads.getState(threadId)).next, ["tools"]);
  const done = await client.runs.wait(threadId, GRAPH, { input: null });
  assert.equal(contents(done).at(-1), ANSWER);
}

async function toolApprovalPausesAndResumes(client) {
  const careful = await client.assistants.create({
    graphId: GRAPH,
    config: { configurable: { approve_tools: ["calculator"] } },
  });
  const threadId = await newThread(client);
  const parts = await collect(
    client.runs.stream(threadId, careful.assistant_id, {
      input: ask("what is 6 * 7?"),
      streamMode: "values",
    }),
  );
  const [pending] = parts.at(-1).data.__interrupt__;
  assert.equal(pending.value.tool_calls[0].name, "calculator");
  const approved = await client.runs.wait(threadId, careful.assistant_id, {
    command: { resume: { approved: true } },
  });
  assert.equal(contents(approved).at(-1), ANSWER);
  await client.assistants.delete(careful.assistant_id);
}

async function stateUpdatesAndTimeTravel(client) {
  const threadId = await newThread(client);
  await client.runs.wait(threadId, GRAPH, { input: ask("what is 6 * 7?") });
  const history = await client.threads.getHistory(threadId);
  const written = await client.threads.updateState(threadId, {
    values: { messages: [{ role: "ai", content: "edited" }] },
    asNode: "agent",
  });
  const state = await client.threads.getState(threadId);
  assert.equal(state.checkpoint.checkpoint_id, written.checkpoint.checkpoint_id);
  assert.equal(contents(state.values).at(-1), "edited");

  const firstQuestion = history.at(-2).checkpoint;
  const forked = await client.runs.wait(threadId, GRAPH, {
    input: ask("what is 2 + 3?"),
    checkpointId: firstQuestion.checkpoint_id,
  });
  assert.deepEqual(contents(forked), [
    "what is 6 * 7?",
    "what is 2 + 3?",
    "",
    "5",
    "The answer is 5.",
  ]);
}

// Store and crons -----------------------------------------------------------------------------

async function theStoreFilesItemsUnderNamespaces(client) {
  const shelf = ["js-contract", "store"];
  await client.store.putItem(shelf, "a", { kind: "note", text: "tea at five" });
  await client.store.putItem([...shelf, "deep"], "b", { kind: "todo", text: "buy tea" });
  const item = await client.store.getItem(shelf, "a");
  assert.deepEqual(item.value, { kind: "note", text: "tea at five" });
  assert.equal(await client.store.getItem(shelf, "missing"), null);
  const notes = await client.store.searchItems(["js-contract"], { filter: { kind: "note" } });
  assert.deepEqual(notes.items.map((i) => i.key), ["a"]);
  const listed = await client.store.listNamespaces({ prefix: ["js-contract"] });
  assert.deepEqual(listed.namespaces, [shelf, [...shelf, "deep"]]);
  await client.store.deleteItem([...shelf, "deep"], "b");
  await client.store.deleteItem(shelf, "a");
  assert.deepEqual(await client.store.searchItems(["js-contract"]), { items: [] });
}

async function cronsAreCreatedFoundChangedAndDeleted(client) {
  const threadId = await newThread(client);
  const tag = { contract: "js-crons" };
  const cron = await client.crons.createForThread(threadId, GRAPH, {
    schedule: "0 9 1 1 *",
    input: ask("what is 6 * 7?"),
    metadata: tag,
  });
  assert.equal(cron.thread_id, threadId);
  assert.equal(cron.assistant_id, SYSTEM_ASSISTANT);
  const found = await client.crons.search({ metadata: tag });
  assert.deepEqual(found.map((c) => c.cron_id), [cron.cron_id]);
  const changed = await client.crons.update(cron.cron_id, { schedule: "30 10 1 1 *" });
  assert.equal(changed.schedule, "30 10 1 1 *");
  assert.equal(await statusOf(client.crons.create(GRAPH, { schedule: "not a schedule" })), 422);
  await client.crons.delete(cron.cron_id);
  assert.equal(await client.crons.count({ metadata: tag }), 0);
}

async function badInputIsRefused(client) {
  const threadId = await newThread(client);
  assert.equal(await statusOf(client.runs.wait(threadId, "nope", { input: ask("hi") })), 422);
  assert.equal(await statusOf(client.runs.wait(MISSING, GRAPH, { input: ask("hi") })), 404);
  assert.equal(await statusOf(client.runs.get(threadId, MISSING)), 404);
  assert.equal(await statusOf(client.threads.getState(MISSING)), 404);
  assert.deepEqual(await client.runs.list(threadId), []);
}

const CHECKS = [
  assistantsAreVersionedConfigurations,
  assistantsDescribeTheirGraph,
  assistantConfigurationReachesTheGraph,
  threadsAreCreatedChangedFoundAndDeleted,
  threadStateHistoryAndCheckpoints,
  aCopyGoesItsOwnWay,
  threadsArePruned,
  everyStreamMode,
  messagesModeSendsPartialAndCompleteMessages,
  aFailingRunIsAnErrorEvent,
  backgroundRunsAreListedJoinedAndDeleted,
  aDroppedStreamIsReplayed,
  aThreadStreamReplaysItsRuns,
  statelessRunsLeaveNoThreadUnlessKept,
  multitaskStrategies,
  cancelInterruptsOrRollsBack,
  batchesAndCancellingMany,
  interruptBeforeANodeThenContinue,
  toolApprovalPausesAndResumes,
  stateUpdatesAndTimeTravel,
  theStoreFilesItemsUnderNamespaces,
  cronsAreCreatedFoundChangedAndDeleted,
  badInputIsRefused,
];

const url = process.argv[2];
if (!url) {
  console.error("usage: node contract.mjs SERVER_URL");
  process.exit(2);
}
// No retries: a refused call is part of what is checked.
const client = new Client({ apiUrl: url, callerOptions: { maxRetries: 0 } });
for (const check of CHECKS) {
  try {
    await check(client);
  } catch (error) {
    console.error(`FAILED contract check: ${check.name}`);
    console.error(error);
    process.exit(1);
  }
  console.log(`ok ${check.name}`);
}
