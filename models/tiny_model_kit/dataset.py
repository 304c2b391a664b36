"""The training conversations: a seeded mix of calculations, look-ups, chains and small talk.

Questions are asked about a synthetic world (so the model learns to read, not to remember) and
about the real corpus, minus a held-out share kept for `threadloom.models.tiny_model_kit.evaluate`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from threadloom.models.tiny_model_kit.dialogues import Message, Scripter
from threadloom.models.tiny_model_kit.names import invented_word
from threadloom.models.tiny_model_kit.reading import Reading, read
from threadloom.models.tiny_model_kit.world import build_world
from threadloom.tools.bm25 import SearchIndex
from threadloom.tools.fact import Fact
from threadloom.tools.registry import get_tools
from threadloom.tools.search import bundled_index

TOOL_NAMES = ("calculator", "search")
# The service's default system prompt (service/settings.py; models/ may not import service/).
DEFAULT_SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."
OTHER_SYSTEM_PROMPTS = (
    "You are a helpful assistant.",
    "You are a concise assistant. Answer briefly.",
    "You are Threadloom, an agent that can use tools.",
    "Answer the user's questions. Call a tool when you need one.",
)
# Facts the project's own examples ask about; always trained on, never held out.
DEMO_TITLES = frozenset({"Leonardo DiCaprio", "Vittoria Ceretti"})
HELD_OUT_EVERY = 5
# How often each kind of exchange is drawn.
KIND_WEIGHTS = {
    "arithmetic": 0.32,
    "small_talk": 0.11,
    "echo": 0.04,
    "relation": 0.07,
    "relation_chain": 0.20,
    "age": 0.05,
    "age_chain": 0.08,
    "lookup": 0.10,
    "unknown": 0.03,
}
# The refining phase: two-tool chains above all, the rest kept so that nothing is forgotten,
# and the project's own example among them (it is never held out, see DEMO_TITLES).
REFINE_KIND_WEIGHTS = {
    "arithmetic": 0.24,
    "small_talk": 0.06,
    "echo": 0.03,
    "relation": 0.06,
    "relation_chain": 0.30,
    "age": 0.04,
    "age_chain": 0.13,
    "lookup": 0.07,
    "unknown": 0.02,
    "demo_chain": 0.05,
}
# How many exchanges a conversation has: one mostly; the refining phase has more follow-ups, so
# that a second question is read for itself, not as the first one again.
TURN_WEIGHTS = (0.85, 0.13, 0.02)
REFINE_TURN_WEIGHTS = (0.65, 0.28, 0.07)
REAL_SUBJECT_SHARE = 0.2


def tool_schemas() -> list[dict[str, Any]]:
    """The OpenAI-style schemas of the real tools, as the runtime passes them to the template."""
    return [convert_to_openai_tool(tool) for tool in get_tools(list(TOOL_NAMES))]


@dataclass(frozen=True)
class Conversation:
    """Messages to render with the chat template, and the tools listed in the prompt."""

    messages: list[Message]
    tools: list[dict[str, Any]]


@dataclass(frozen=True)
class Subjects:
    """What can be asked about: people with relations, people with ages, facts to look up."""

    relations: list[tuple[Reading, str]]
    ages: list[Reading]
    lookups: list[Fact]

    @classmethod
    def of(cls, facts: list[Fact]) -> Subjects:
        readings = [read(fact) for fact in facts]
        return cls(
            relations=[(r, relation) for r in readings for relation in r.relations],
            ages=[r for r in readings if r.age_sentence],
            lookups=list(facts),
        )


def split_corpus(facts: list[Fact]) -> tuple[list[Fact], list[Fact]]:
    """The real corpus split into trained and held-out facts, every fifth one held out."""
    train, held_out = [], []
    for position, fact in enumerate(facts):
        keep = fact.title in DEMO_TITLES or position % HELD_OUT_EVERY != HELD_OUT_EVERY - 1
        (train if keep else held_out).append(fact)
    return train, held_out


def build_conversations(
    count: int,
    seed: int,
    kind_weights: dict[str, float] = KIND_WEIGHTS,
    turn_weights: tuple[float, float, float] = TURN_WEIGHTS,
) -> list[Conversation]:
    """`count` training conversations, the same ones for the same `seed` and weights."""
    rng = random.Random(seed)
    world = build_world(rng, couples=1500, singles=900, countries=150)
    corpus = bundled_index().facts
    real_train, _ = split_corpus(corpus)
    scripter = Scripter(rng, SearchIndex([*corpus, *world]))
    synthetic, real = Subjects.of(world), Subjects.of(real_train)
    demo = Subjects.of([fact for fact in corpus if fact.title in DEMO_TITLES])
    kinds = list(kind_weights)
    weights = list(kind_weights.values())
    schemas = tool_schemas()

    def exchange() -> list[Message]:
        kind = rng.choices(kinds, weights)[0]
        if kind == "demo_chain":
            return _EXCHANGES["relation_chain"](scripter, demo)
        subjects = real if rng.random() < REAL_SUBJECT_SHARE else synthetic
        return _EXCHANGES[kind](scripter, subjects)

    conversations = []
    for _ in range(count):
        turns = rng.choices((1, 2, 3), turn_weights)[0]
        messages = [message for _ in range(turns) for message in exchange()]
        tools = schemas if rng.random() < 0.9 else schemas[::-1]
        conversations.append(Conversation(_with_system(rng, messages), tools))
    return conversations


def build_copy_drills(count: int, seed: int) -> list[Conversation]:
    """`count` repeat-after-me conversations: the first lesson, before the main mixture.

    They come without system prompt or tools: short sequences make the lesson cheap.
    """
    scripter = Scripter(random.Random(seed), SearchIndex([]))
    return [Conversation(scripter.echo(), []) for _ in range(count)]


def _with_system(rng: random.Random, messages: list[Message]) -> list[Message]:
    draw = rng.random()
    if draw < 0.2:
        return messages
    prompt = DEFAULT_SYSTEM_PROMPT if draw < 0.8 else rng.choice(OTHER_SYSTEM_PROMPTS)
    return [{"role": "system", "content": prompt}, *messages]


def _unknown(scripter: Scripter, _: Subjects) -> list[Message]:
    name = f"{invented_word(scripter.rng, 3, 4)} {invented_word(scripter.rng, 3, 4)}"
    # Only stop words besides the name, so that the search really finds nothing.
    question = scripter.rng.choice(("Who is {t}?", "What is {t}?", "who is {t}"))
    return scripter.lookup(question.format(t=name))


_EXCHANGES: dict[str, Callable[[Scripter, Subjects], list[Message]]] = {
    "arithmetic": lambda s, _: s.arithmetic(),
    "small_talk": lambda s, _: s.small_talk(),
    "echo": lambda s, _: s.echo(),
    "relation": lambda s, subjects: s.relation(*s.rng.choice(subjects.relations), compute=False),
    "relation_chain": lambda s, subjects: s.relation(
        *s.rng.choice(subjects.relations), compute=True
    ),
    "age": lambda s, subjects: s.age(s.rng.choice(subjects.ages), compute=False),
    "age_chain": lambda s, subjects: s.age(s.rng.choice(subjects.ages), compute=True),
    "lookup": lambda s, subjects: s.lookup(s.lookup_question(s.rng.choice(subjects.lookups))),
    "unknown": _unknown,
}
