"""The prompt of one request: LangChain messages and tool schemas through the model's chat template.

Tools go to the template's own tool section (`apply_chat_template(..., tools=...)`), in the
format the template teaches. A template without tool support gets ReAct prompting instead: the
tools are described in the system prompt and the reply is read as Thought/Action/Observation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from threadloom.models.chat_messages import to_template_messages, traits_for
from threadloom.models.errors import PromptError
from threadloom.models.react import REACT_STOP, react_messages
from threadloom.models.tool_calls import FORMATS, NO_TOOLS, REACT, UnknownFormatError, detect_format

# Tokens that end an assistant turn in common families, besides the tokenizer's own EOS.
_END_OF_TURN_TOKENS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<｜end▁of▁sentence｜>",
)


@dataclass(frozen=True)
class Prompt:
    """Token ids to decode from, and how to read the reply."""

    input_ids: list[int]
    fmt: str  # the tool-call format of the reply
    stop: tuple[str, ...] = ()  # stop strings the prompting style itself needs
    in_reasoning: bool = False  # the prompt opened a <think> block the reply continues


class PromptBuilder:
    """Renders conversations for one tokenizer; knows its tool-call format and turn-end tokens."""

    def __init__(
        self,
        tokenizer: Any,
        tool_call_format: str = "auto",
        template_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.template_kwargs = template_kwargs or {}
        template = tokenizer.chat_template or ""
        self.fmt = detect_format(template) if tool_call_format == "auto" else tool_call_format
        if self.fmt not in (*FORMATS, NO_TOOLS, REACT):
            choices = ", ".join(("auto", *FORMATS, NO_TOOLS, REACT))
            raise UnknownFormatError(
                f"unknown tool_call_format {tool_call_format!r}; use one of: {choices}"
            )
        self.traits = traits_for(template, self.fmt)
        self.stop_token_ids = frozenset(_end_of_turn_ids(tokenizer))

    def build(self, messages: Sequence[BaseMessage], tools: list[dict[str, Any]]) -> Prompt:
        """Render `messages` with `tools` (OpenAI schemas) and tokenize the result."""
        if self.fmt not in (NO_TOOLS, REACT):
            return self._render(to_template_messages(messages, self.fmt, self.traits), tools)
        if not tools and not _has_tool_traffic(messages):
            return self._render(to_template_messages(messages, NO_TOOLS, self.traits), None)
        # The template knows no tools: ReAct instructions, calls and results as plain turns.
        plain = to_template_messages(react_messages(messages, tools), NO_TOOLS, self.traits)
        return self._render(plain, None, fmt=REACT, stop=tuple(REACT_STOP))

    def _render(
        self,
        conversation: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        fmt: str | None = None,
        stop: tuple[str, ...] = (),
    ) -> Prompt:
        try:
            text = self.tokenizer.apply_chat_template(
                conversation,
                tools=tools or None,
                add_generation_prompt=True,
                tokenize=False,
                **self.template_kwargs,
            )
        except TemplateError as exc:
            raise PromptError(
                f"The chat template could not render this conversation: {exc}. "
                "Check the order of roles, or set tool_call_format for this model."
            ) from exc
        input_ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
        in_reasoning = text.rstrip().endswith("<think>")
        return Prompt(input_ids, fmt or self.fmt, stop, in_reasoning)


def _has_tool_traffic(messages: Sequence[BaseMessage]) -> bool:
    return any(
        isinstance(m, ToolMessage) or (isinstance(m, AIMessage) and m.tool_calls) for m in messages
    )


def _end_of_turn_ids(tokenizer: Any) -> set[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    vocab = tokenizer.get_vocab()
    ids.update(vocab[token] for token in _END_OF_TURN_TOKENS if token in vocab)
    return ids
