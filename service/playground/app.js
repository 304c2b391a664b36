// The playground: pick an assistant and a thread, chat with streamed tokens, tool cards, a node
// timeline, interrupts, history and forks. It talks only to the public API (api.js).
import { Api, ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);
const STREAM_MODES = ["messages-tuple", "updates", "tasks"];
const KEY_STORAGE = "threadloom.apiKey";

const state = {
  api: new Api("", localStorage.getItem(KEY_STORAGE) || ""),
  assistantId: "",
  assistants: [],
  threadId: "",
  thread: null, // the open thread's record (its metadata names the assistant it runs with)
  runId: "",
  threads: [],
  forkCheckpoint: "",
  abort: null,
  tasks: new Map(),
};

// ---- small rendering helpers -------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function text(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => part.text ?? "").join("");
  return content == null ? "" : JSON.stringify(content);
}

function showError(error) {
  const box = $("error");
  if (!error) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.hidden = false;
  box.textContent = error instanceof ApiError ? `Server answered ${error.status}: ${error.message}` : String(error.message ?? error);
}

function setStatus(message) {
  $("status").textContent = message;
}

// What the status line says once a run stops streaming or a thread opens: a run paused at an
// interrupt is not done, it waits for the person at the page.
function settledStatus(idle) {
  return $("interrupt").hidden ? idle : "waiting for approval";
}

function setRunning(running) {
  $("send").disabled = running;
  $("cancel-run").disabled = !running;
}

// ---- messages ---------------------------------------------------------------------------

function messageItem(message) {
  const id = message.id || `m-${Math.random().toString(36).slice(2)}`;
  let item = document.querySelector(`#messages > li[data-id="${CSS.escape(id)}"]`);
  if (!item) {
    item = el("li", { dataset: { id } }, el("span", { class: "role" }), el("div", { class: "body" }));
    $("messages").append(item);
  }
  return item;
}

function renderMessage(message) {
  const kind = message.type === "AIMessageChunk" ? "ai" : message.type;
  if (kind === "tool") return renderToolResult(message);
  if (kind === "system") return;
  const item = messageItem(message);
  item.className = kind;
  item.querySelector(".role").textContent = kind === "human" ? "you" : "assistant";
  item.querySelector(".body").textContent = text(message.content);
  for (const call of message.tool_calls || []) toolCard(item, call);
  scrollDown();
}

function toolCard(item, call) {
  let card = item.querySelector(`.tool-card[data-call-id="${CSS.escape(call.id || "")}"]`);
  if (!card) {
    card = el("div", { class: "tool-card", dataset: { callId: call.id || "" } },
      el("span", { class: "name" }), el("code", { class: "args" }), el("div", { class: "result" }));
    item.append(card);
  }
  card.querySelector(".name").textContent = `tool ${call.name}`;
  card.querySelector(".args").textContent = ` ${JSON.stringify(call.args)}`;
}

function renderToolResult(message) {
  const card = document.querySelector(`.tool-card[data-call-id="${CSS.escape(message.tool_call_id || "")}"]`);
  if (card) {
    card.querySelector(".result").textContent = `→ ${text(message.content)}`;
    return;
  }
  const item = messageItem(message);
  item.className = "tool";
  item.querySelector(".role").textContent = `tool ${message.name || ""}`;
  item.querySelector(".body").textContent = text(message.content);
}

function appendToken(chunk) {
  const item = messageItem(chunk);
  if (item.dataset.final) return; // replayed tokens of a message already shown whole
  item.className = "ai";
  item.querySelector(".role").textContent = "assistant";
  item.querySelector(".body").textContent += text(chunk.content);
  scrollDown();
}

function renderMessages(messages) {
  $("messages").replaceChildren();
  for (const message of messages || []) {
    renderMessage(message);
    const item = document.querySelector(`#messages > li[data-id="${CSS.escape(message.id || "")}"]`);
    if (item) item.dataset.final = "1";
  }
}

function scrollDown() {
  const list = $("messages");
  list.scrollTop = list.scrollHeight;
}

// ---- timeline ---------------------------------------------------------------------------

function taskEvent(data) {
  if (!data || !data.id) return;
  if (!("result" in data) && !("error" in data) && !("interrupts" in data && !data.triggers)) {
    const item = el("li", {}, el("span", { class: "node" }, data.name), el("span", { class: "took" }, " running…"));
    $("timeline").append(item);
    state.tasks.set(data.id, { started: performance.now(), item });
    return;
  }
  const task = state.tasks.get(data.id);
  if (!task) return;
  const ms = Math.round(performance.now() - task.started);
  const usage = usageOf(data.result);
  const tokens = usage ? ` · tokens in ${usage.input_tokens} / out ${usage.output_tokens}` : "";
  const outcome = data.error ? ` · error: ${data.error}` : data.interrupts?.length ? " · interrupted" : "";
  task.item.querySelector(".took").textContent = ` ${ms} ms${tokens}${outcome}`;
}

function usageOf(result) {
  // A task's result holds its writes: {channel: value} (or [channel, value] pairs); the agent
  // node writes its AI message, with the token counts, to `messages`.
  const writes = Array.isArray(result) ? result : Object.entries(result || {});
  for (const [channel, value] of writes) {
    const messages = channel === "messages" ? [].concat(value) : [];
    for (const message of messages) if (message?.usage_metadata) return message.usage_metadata;
  }
  return null;
}

// ---- streams ----------------------------------------------------------------------------

async function consume(frames) {
  setRunning(true);
  showError(null);
  setStatus("running…");
  let ended = "done";
  try {
    for await (const { event, data, id } of frames) {
      if (id !== undefined && state.runId) sessionStorage.setItem(`threadloom.event.${state.runId}`, id);
      if (event === "metadata") {
        state.runId = data.run_id;
      } else if (event === "messages" || event.startsWith("messages|")) {
        const [chunk] = data;
        if (chunk.type === "AIMessageChunk" || chunk.type === "ai") appendToken(chunk);
        else if (chunk.type === "tool") renderToolResult(chunk);
      } else if (event === "updates" || event.startsWith("updates|")) {
        for (const [node, update] of Object.entries(data || {})) {
          if (node === "__interrupt__") showInterrupt(update[0]);
          for (const message of update?.messages || []) {
            renderMessage(message);
            const item = document.querySelector(`#messages > li[data-id="${CSS.escape(message.id || "")}"]`);
            if (item) item.dataset.final = "1";
          }
        }
      } else if (event === "tasks" || event.startsWith("tasks|")) {
        taskEvent(data);
      } else if (event === "error") {
        showError(new Error(`${data.error || "Error"}: ${data.message || JSON.stringify(data)}`));
      }
    }
  } catch (error) {
    if (error.name === "AbortError") ended = "stopped following the run";
    else {
      showError(error);
      ended = "";
    }
  } finally {
    state.runId = "";
    state.abort = null;
    setRunning(false);
    await refreshThreads();
    if (state.threadId) await showThreadState(state.threadId);
    setStatus(settledStatus(ended));
    // Scripts driving the page (tests, people's automation) can wait on this count.
    document.body.dataset.runsEnded = Number(document.body.dataset.runsEnded || 0) + 1;
  }
}

function startRun(body) {
  state.abort = new AbortController();
  const path = `/threads/${state.threadId}/runs/stream`;
  const request = { assistant_id: state.assistantId, stream_mode: STREAM_MODES, on_disconnect: "continue", ...body };
  return consume(state.api.stream("POST", path, request, { signal: state.abort.signal }));
}

function rejoin(runId) {
  state.runId = runId;
  state.abort = new AbortController();
  const path = `/threads/${state.threadId}/runs/${runId}/stream`;
  // Replay the run from its first event; tokens of messages already shown whole are skipped.
  return consume(state.api.stream("GET", path, undefined, { lastEventId: -1, signal: state.abort.signal }));
}

// ---- interrupts -------------------------------------------------------------------------

function showInterrupt(interrupt) {
  const value = interrupt?.value ?? interrupt;
  $("interrupt").hidden = false;
  $("interrupt-value").textContent = JSON.stringify(value, null, 2);
  const calls = value?.tool_calls;
  $("interrupt-edit").value = JSON.stringify(calls ?? value, null, 2);
  $("interrupt-reason").value = "";
  setStatus("waiting for approval");
}

function resume(value) {
  $("interrupt").hidden = true;
  return startRun({ command: { resume: value } });
}

// ---- threads ----------------------------------------------------------------------------

function threadTitle(thread) {
  const title = thread.metadata?.title;
  if (title) return title;
  const first = thread.values?.messages?.find((message) => message.type === "human");
  if (first) return text(first.content).slice(0, 60);
  // A thread id is a UUIDv7: its start is the creation time, shared by threads made together;
  // its end is random, so that is what tells two untitled threads apart.
  return `Thread …${thread.thread_id.slice(-8)}`;
}

// The threads of the chosen assistant (their metadata names it from their creation or their
// latest run), newest first; the open thread stays listed whatever it ran with.
async function refreshThreads() {
  try {
    state.threads = await state.api.request("POST", "/threads/search", {
      limit: 100, sort_by: "updated_at", sort_order: "desc",
      metadata: { assistant_id: state.assistantId },
    });
  } catch (error) {
    return handleAccessError(error);
  }
  if (state.thread && !state.threads.some((thread) => thread.thread_id === state.threadId)) {
    state.threads.unshift(state.thread);
  }
  renderThreadList();
}

function assistantOf(thread) {
  return thread?.metadata?.assistant_id || "";
}

function renderThreadList() {
  const query = $("thread-search").value.trim().toLowerCase();
  const items = state.threads
    .filter((thread) => !query || threadTitle(thread).toLowerCase().includes(query) || thread.thread_id.includes(query))
    .map((thread) => el("li", {
      class: thread.thread_id === state.threadId ? "current" : "",
      dataset: { threadId: thread.thread_id },
      onclick: () => openThread(thread.thread_id),
    }, threadTitle(thread), el("small", {}, `${thread.status} · ${new Date(thread.updated_at).toLocaleString()}`)));
  $("threads").replaceChildren(...items);
}

async function showThreadState(threadId) {
  const snapshot = await state.api.request("GET", `/threads/${threadId}/state`);
  renderMessages(snapshot.values?.messages);
  const pending = (snapshot.tasks || []).flatMap((task) => task.interrupts || []);
  if (pending.length) showInterrupt(pending[0]);
  else $("interrupt").hidden = true;
  return snapshot;
}

async function openThread(threadId) {
  if (state.abort) state.abort.abort();
  state.threadId = threadId;
  state.forkCheckpoint = "";
  $("fork-note").hidden = true;
  $("timeline").replaceChildren();
  $("history").hidden = true;
  location.hash = `thread=${threadId}&assistant=${encodeURIComponent(state.assistantId)}`;
  for (const id of ["rename-thread", "delete-thread", "show-history"]) $(id).disabled = false;
  showError(null);
  try {
    const thread = await state.api.request("GET", `/threads/${threadId}`);
    state.thread = thread;
    $("thread-title").textContent = threadTitle(thread);
    renderThreadList();
    await showThreadState(threadId);
    // A run may be going (or waiting to start) though this page did not start it: follow it.
    const runs = await state.api.request("GET", `/threads/${threadId}/runs?limit=10`);
    const active = runs.find((run) => run.status === "running" || run.status === "pending");
    if (active) {
      setStatus("rejoining the running run…");
      await rejoin(active.run_id);
    } else {
      setStatus(settledStatus(""));
    }
  } catch (error) {
    showError(error);
  }
}

function closeThread() {
  if (state.abort) state.abort.abort();
  state.threadId = "";
  state.thread = null;
  $("messages").replaceChildren();
  $("timeline").replaceChildren();
  $("interrupt").hidden = true;
  $("thread-title").textContent = "No thread";
  for (const id of ["rename-thread", "delete-thread", "show-history"]) $(id).disabled = true;
  setStatus("");
}

// Another assistant chosen: its threads are listed, and a thread another assistant runs is
// closed (the next message starts a thread of the chosen one).
async function chooseAssistant(assistantId) {
  state.assistantId = assistantId;
  const owner = assistantOf(state.thread);
  if (state.thread && owner && owner !== assistantId) closeThread();
  location.hash = state.threadId
    ? `thread=${state.threadId}&assistant=${encodeURIComponent(assistantId)}`
    : `assistant=${encodeURIComponent(assistantId)}`;
  await refreshThreads();
}

async function newThread(title) {
  const assistant = state.assistants.find((item) => item.assistant_id === state.assistantId);
  const metadata = { assistant_id: state.assistantId, graph_id: assistant?.graph_id };
  if (title) metadata.title = title;
  const thread = await state.api.request("POST", "/threads", { metadata });
  state.threads.unshift(thread);
  await openThread(thread.thread_id);
  return thread;
}

// ---- history and forks ------------------------------------------------------------------

async function showHistory() {
  const checkpoints = await state.api.request("POST", `/threads/${state.threadId}/history`, { limit: 50 });
  const items = checkpoints.map((snapshot) => {
    const id = snapshot.checkpoint?.checkpoint_id ?? snapshot.checkpoint_id;
    const count = snapshot.values?.messages?.length ?? 0;
    const step = snapshot.metadata?.step;
    return el("li", { dataset: { checkpointId: id } },
      `step ${step} · ${count} messages · next: ${(snapshot.next || []).join(", ") || "—"} `,
      el("button", { type: "button", onclick: () => forkFrom(id, snapshot) }, "Fork here"));
  });
  $("checkpoints").replaceChildren(...items);
  $("history").hidden = false;
}

function forkFrom(checkpointId, snapshot) {
  state.forkCheckpoint = checkpointId;
  renderMessages(snapshot.values?.messages);
  $("fork-id").textContent = checkpointId;
  $("fork-note").hidden = false;
  $("input").focus();
}

// ---- assistants and access --------------------------------------------------------------

function handleAccessError(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
    $("key-form").hidden = false;
    showError(new Error("This server needs an API key: enter one on the left."));
    return;
  }
  showError(error);
}

async function loadAssistants() {
  let assistants;
  try {
    assistants = await state.api.request("POST", "/assistants/search", { limit: 100 });
  } catch (error) {
    handleAccessError(error);
    return false;
  }
  $("key-form").hidden = !state.api.apiKey;
  state.assistants = assistants;
  const options = assistants.map((assistant) => el("option", { value: assistant.assistant_id },
    assistant.name && assistant.name !== assistant.graph_id ? `${assistant.name} (${assistant.graph_id})` : assistant.graph_id));
  $("assistant").replaceChildren(...options);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("assistant");
  // The hash's assistant, else a graph's own (system) assistant, else the first listed.
  const fallback = assistants.find((assistant) => assistant.metadata?.created_by === "system");
  if (wanted && assistants.some((assistant) => assistant.assistant_id === wanted)) $("assistant").value = wanted;
  else if (fallback) $("assistant").value = fallback.assistant_id;
  state.assistantId = $("assistant").value;
  return true;
}

// ---- wiring -----------------------------------------------------------------------------

async function send(event) {
  event.preventDefault();
  const message = $("input").value.trim();
  if (!message || state.runId) return;
  $("input").value = "";
  showError(null);
  try {
    if (!state.threadId) await newThread(message.slice(0, 60));
    const body = { input: { messages: [{ role: "user", content: message }] } };
    if (state.forkCheckpoint) body.checkpoint_id = state.forkCheckpoint;
    state.forkCheckpoint = "";
    $("fork-note").hidden = true;
    renderMessage({ type: "human", content: message, id: `pending-${Date.now()}` });
    await startRun(body);
  } catch (error) {
    showError(error);
  }
}

function bind() {
  $("composer").addEventListener("submit", send);
  $("input").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) send(event);
  });
  $("assistant").addEventListener("change", () => chooseAssistant($("assistant").value).catch(showError));
  $("new-thread").addEventListener("click", () => newThread("").catch(showError));
  $("thread-search").addEventListener("input", renderThreadList);
  $("cancel-run").addEventListener("click", async () => {
    if (!state.runId) return;
    try {
      await state.api.request("POST", `/threads/${state.threadId}/runs/${state.runId}/cancel?action=interrupt`);
      setStatus("cancelled");
    } catch (error) {
      showError(error);
    }
  });
  $("rename-thread").addEventListener("click", async () => {
    const title = prompt("New name for this thread", $("thread-title").textContent);
    if (!title) return;
    const renamed = await state.api.request("PATCH", `/threads/${state.threadId}`, { metadata: { title } }).catch(showError);
    if (renamed) state.thread = renamed;
    $("thread-title").textContent = title;
    await refreshThreads();
  });
  $("delete-thread").addEventListener("click", async () => {
    if (!confirm("Delete this thread and its history?")) return;
    await state.api.request("DELETE", `/threads/${state.threadId}`).catch(showError);
    closeThread();
    location.hash = `assistant=${encodeURIComponent(state.assistantId)}`;
    await refreshThreads();
  });
  $("show-history").addEventListener("click", () => showHistory().catch(showError));
  $("fork-cancel").addEventListener("click", () => {
    state.forkCheckpoint = "";
    $("fork-note").hidden = true;
    showThreadState(state.threadId).catch(showError);
  });
  $("approve").addEventListener("click", () => resume({ approved: true }));
  $("reject").addEventListener("click", () => resume({ approved: false, reason: $("interrupt-reason").value || "Rejected." }));
  $("run-edited").addEventListener("click", () => {
    try {
      resume(JSON.parse($("interrupt-edit").value));
    } catch (error) {
      showError(new Error(`The edited value is not valid JSON: ${error.message}`));
    }
  });
  $("key-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    state.api.apiKey = $("api-key").value.trim();
    localStorage.setItem(KEY_STORAGE, state.api.apiKey);
    await start();
  });
}

// The server's model and its state (loading, ready, failed with the reason), from /info.
async function showModelState() {
  try {
    const { model } = await state.api.request("GET", "/info");
    if (!model) return;
    const where = model.remote ? "remote" : "local";
    const reason = model.state === "failed" && model.error ? `: ${model.error}` : "";
    $("model-state").textContent = `model ${model.name} (${where}) · ${model.state}${reason}`;
    $("model-state").classList.toggle("failed", model.state === "failed");
  } catch (error) {
    $("model-state").textContent = `server info unavailable: ${error.message}`;
  }
}

async function start() {
  await showModelState();
  if (!(await loadAssistants())) return;
  showError(null);
  await refreshThreads();
  const threadId = new URLSearchParams(location.hash.slice(1)).get("thread");
  if (threadId) await openThread(threadId);
}

bind();
start();
