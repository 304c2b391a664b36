// The playground's only door to the server: the public LangGraph Server API, over fetch.

export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

export class Api {
  constructor(baseUrl = "", apiKey = "") {
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
  }

  headers(extra = {}) {
    const headers = { "content-type": "application/json", ...extra };
    if (this.apiKey) headers["x-api-key"] = this.apiKey;
    return headers;
  }

  async request(method, path, body) {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: this.headers(),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
    if (response.status === 204) return null;
    return response.json();
  }

  // Yields {event, data, id} for each server-sent event of a POST or GET stream.
  async *stream(method, path, body, { lastEventId, signal } = {}) {
    const extra = lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) };
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: this.headers(extra),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw new ApiError(response.status, await errorDetail(response));
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame) yield frame;
      }
    }
  }
}

async function errorDetail(response) {
  try {
    const body = await response.json();
    return body.detail ?? body;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function parseFrame(text) {
  let event = "message";
  let id;
  const data = [];
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) continue; // heartbeat comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  }
  if (!data.length) return null;
  const raw = data.join("\n");
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = raw;
  }
  return { event, data: parsed, id };
}
