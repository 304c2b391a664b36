"""Bodies of the OpenAI-compatible routes: what clients send, and what they get back.

Only the fields this server uses are declared; others (temperature, tools, ...) are accepted
and ignored, since the assistant's configuration decides how the agent runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ChatRole = Literal["system", "developer", "user", "assistant", "tool"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ChatMessage(BaseModel):
    """One message of the conversation, as OpenAI's chat API writes it."""

    model_config = ConfigDict(extra="allow")

    role: ChatRole
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None


class StreamOptions(_Body):
    include_usage: bool = False


class ChatCompletionRequest(_Body):
    model: str = Field(description="An assistant: its graph id (`agent`) or assistant id.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    metadata: dict[str, str] | None = Field(
        None, description="`thread_id` keeps the conversation on that thread (see docs/openai.md)."
    )


class ResponseInputItem(BaseModel):
    """A message of the Responses API's `input` (other item types are not supported)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["message"] = "message"
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]


class ResponseRequest(_Body):
    model: str = Field(description="An assistant: its graph id (`agent`) or assistant id.")
    input: str | list[ResponseInputItem]
    instructions: str | None = None
    previous_response_id: str | None = None
    stream: bool = False
    store: bool = Field(
        True, description="False: run statelessly; the response can't be continued."
    )
    metadata: dict[str, str] | None = None


class ModelObject(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "threadloom"
    # Not in OpenAI's schema: which assistant and graph the model runs.
    assistant_id: str
    graph_id: str
    name: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelObject]


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class FunctionCall(BaseModel):
    name: str
    arguments: str


class AgentToolCall(BaseModel):
    """A tool call the agent made and ran itself (not one for the client to run)."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall
    output: str | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    # Not in OpenAI's schema, so clients that do not know it ignore it.
    agent_tool_calls: list[AgentToolCall] = Field(default_factory=list)


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    # Not in OpenAI's schema: the thread the conversation is kept on (None: stateless).
    thread_id: str | None = None


class ResponseOutputText(BaseModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[Any] = Field(default_factory=list)


class ResponseMessage(BaseModel):
    type: Literal["message"] = "message"
    id: str
    status: Literal["in_progress", "completed"] = "completed"
    role: Literal["assistant"] = "assistant"
    content: list[ResponseOutputText]


class ResponseUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, int] = Field(default_factory=lambda: {"cached_tokens": 0})
    output_tokens_details: dict[str, int] = Field(default_factory=lambda: {"reasoning_tokens": 0})


class ResponseObject(BaseModel):
    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: Literal["in_progress", "completed", "failed", "incomplete"]
    model: str
    output: list[ResponseMessage] = Field(default_factory=list)
    usage: ResponseUsage | None = None
    previous_response_id: str | None = None
    instructions: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    parallel_tool_calls: bool = True
    tool_choice: str = "auto"
    tools: list[Any] = Field(default_factory=list)
    temperature: float | None = None
    top_p: float | None = None
    store: bool = True
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}})
    truncation: str = "disabled"
    # Not in OpenAI's schema: the tools the agent ran, as in a chat completion's message.
    agent_tool_calls: list[AgentToolCall] = Field(default_factory=list)


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    error: ErrorDetail
