"""A scripted agent: the turns the bundled model learns, played out with the real tools.

Every exchange starts with a user message and ends with the assistant's answer. Tool results
come from the project's own calculator and search index, so the model learns to copy numbers
and names exactly as the runtime will show them. After a search the agent copies what it needs
from the results verbatim; copying is what a tiny transformer learns best.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from threadloom.models.tiny_model_kit.arithmetic_dialogues import (
    arithmetic_question,
    chain_operation,
)
from threadloom.models.tiny_model_kit.echo import echo_request
from threadloom.models.tiny_model_kit.names import nickname
from threadloom.models.tiny_model_kit.reading import Reading, read, relation_pronoun
from threadloom.models.tiny_model_kit.small_talk import small_talk
from threadloom.tools.bm25 import SearchIndex
from threadloom.tools.calculator import CalculatorError, evaluate, format_number
from threadloom.tools.fact import Fact
from threadloom.tools.search import RESULTS_PER_QUERY, format_results

Message = dict[str, Any]

CALCULATOR_FAILED = "Sorry, the calculator could not compute that."
NOTHING_FOUND = "Sorry, I could not find anything about that."
RELATION_QUESTIONS = (
    "Who is {x}'s {rel}?",
    "who is {x}'s {rel}",
    "Who is the {rel} of {x}?",
    "Who's {x}'s {rel}?",
    "What is the name of {x}'s {rel}?",
    "Do you know who {x}'s {rel} is?",
)
CHAIN_QUESTIONS = (
    "Who is {x}'s {rel}? What is {pr} current age {op}?",
    "Who is {x}'s {rel}? What is {pr} age {op}?",
    "Who is {x}'s {rel}, and what is {pr} age {op}?",
    "Who is the {rel} of {x}? Compute {pr} age {op}.",
    "Find {x}'s {rel}. What is {pr} current age {op}?",
)
AGE_QUESTIONS = ("How old is {x}?", "how old is {x}", "What is {x}'s age?", "What age is {x}?")
AGE_CHAIN_QUESTIONS = (
    "How old is {x}? What is {pr} age {op}?",
    "How old is {x}, and what is {pr} age {op}?",
    "What is {x}'s age? Compute it {op}.",
)
LOOKUP_QUESTIONS = (
    "Tell me about {t}.",
    "What do you know about {t}?",
    "Search for {t}.",
    "Look up {t}.",
    "{t}?",
)
PERSON_LOOKUP_QUESTIONS = ("Who is {t}?", "Who was {t}?", "who is {t}")
THING_LOOKUP_QUESTIONS = ("What is {t}?", "what is {t}")


class Scripter:
    """Writes exchanges for one search index, drawing every choice from `rng`."""

    def __init__(self, rng: random.Random, index: SearchIndex) -> None:
        self.rng = rng
        self.index = index

    def arithmetic(self) -> list[Message]:
        """A calculation: call the calculator, then state its result."""
        question, expression = arithmetic_question(self.rng)
        return [user(question), *self._calculate(expression, "The answer is {r}.", "")]

    def echo(self) -> list[Message]:
        """A request to repeat some text: answered by copying it exactly."""
        request, text = echo_request(self.rng)
        return [user(request), assistant(text)]

    def small_talk(self) -> list[Message]:
        """A greeting, thanks or question about the assistant: answered without tools."""
        text, reply = small_talk(self.rng)
        return [user(text), assistant(reply)]

    def relation(self, person: Reading, relation: str, compute: bool) -> list[Message]:
        """Who is X's partner (and a calculation on their age)? Searched, then read."""
        x = self._spoken_name(person.fact.title)
        op, pattern = chain_operation(self.rng)
        forms = CHAIN_QUESTIONS if compute else RELATION_QUESTIONS
        question = self.rng.choice(forms).format(
            x=x, rel=relation, pr=relation_pronoun(relation), op=op
        )
        messages = [user(question)]
        facts = self._search(messages, first_clause(question))
        x_fact = _titled(facts, person.fact.title)
        name = read(x_fact).relations.get(relation) if x_fact else None
        if name is None:
            return [*messages, assistant(f"I could not find {x}'s {relation}.")]
        said = f"{x}'s {relation} is {name}"
        if not compute:
            return [*messages, assistant(said + ".")]
        found = _titled(facts, name)
        thought = said + "."
        if found is None:
            facts = self._search(messages, name, content=thought)
            found, thought = _titled(facts, name), ""
        age = read(found) if found else None
        if age is None or age.age is None:
            pronoun = relation_pronoun(relation)
            return [*messages, assistant(f"{said}, but I could not find {pronoun} age.")]
        thought = f"{thought} {age.age_sentence} I compute {age.age} {op}."
        final = f"{said}, age {age.age}, and {{e}} = {{r}}."
        return messages + self._calculate(pattern.format(n=age.age), final, thought.strip())

    def age(self, person: Reading, compute: bool) -> list[Message]:
        """How old is X (and a calculation on the age)? Searched, then the age sentence copied."""
        x = self._spoken_name(person.fact.title)
        op, pattern = chain_operation(self.rng)
        forms = AGE_CHAIN_QUESTIONS if compute else AGE_QUESTIONS
        question = self.rng.choice(forms).format(x=x, pr=person.pronoun, op=op)
        messages = [user(question)]
        facts = self._search(messages, first_clause(question))
        found = _titled(facts, person.fact.title)
        age = read(found) if found else None
        if age is None or age.age_sentence is None:
            return [*messages, assistant(f"I could not find {x}'s age.")]
        if not compute:
            return [*messages, assistant(age.age_sentence)]
        final = f"{found.title} is {age.age} years old, and {{e}} = {{r}}."
        thought = f"{age.age_sentence} I compute {age.age} {op}."
        return messages + self._calculate(pattern.format(n=age.age), final, thought)

    def lookup(self, question: str) -> list[Message]:
        """Any other question of fact: searched, then the best result's first sentence copied."""
        messages = [user(question)]
        query = first_clause(question)
        facts = self._search(messages, query)
        if not facts:
            return [*messages, assistant(NOTHING_FOUND)]
        return [*messages, assistant(read(facts[0]).first_sentence)]

    def lookup_question(self, fact: Fact) -> str:
        """A question whose answer is `fact`, phrased for a person, a capital or a thing."""
        capital = _capital_question(fact)
        if capital and self.rng.random() < 0.6:
            return capital
        person = read(fact).age_sentence is not None or " (" in fact.text[: len(fact.title) + 3]
        specific = PERSON_LOOKUP_QUESTIONS if person else THING_LOOKUP_QUESTIONS
        forms = LOOKUP_QUESTIONS + specific
        return self.rng.choice(forms).format(t=fact.title)

    def _calculate(self, expression: str, final: str, thought: str) -> list[Message]:
        call = tool_call(self.rng, "calculator", {"expression": expression}, thought)
        try:
            result = format_number(evaluate(expression))
        except CalculatorError as exc:
            output = f"Error: Tool 'calculator' failed: CalculatorError: {exc}"
            return [call, tool_result(call, output), assistant(CALCULATOR_FAILED)]
        answer = final.format(e=expression, r=result)
        return [call, tool_result(call, result), assistant(answer)]

    def _search(self, messages: list[Message], query: str, content: str = "") -> list[Fact]:
        """Appends a search call and its result to `messages`; returns the facts found."""
        call = tool_call(self.rng, "search", {"query": query}, content)
        facts = self.index.search(query, k=RESULTS_PER_QUERY)
        messages += [call, tool_result(call, format_results(query, facts))]
        return facts

    def _spoken_name(self, title: str) -> str:
        return nickname(title) if self.rng.random() < 0.25 else title


def first_clause(question: str) -> str:
    """The part of a question the agent searches for: up to the first "?", ", and" or ". "."""
    cut = len(question)
    for mark in ("?", ", and ", ". "):
        found = question.find(mark)
        if found != -1:
            cut = min(cut, found)
    return question[:cut].rstrip(".")


def user(text: str) -> Message:
    return {"role": "user", "content": text}


def assistant(text: str) -> Message:
    return {"role": "assistant", "content": text}


def tool_call(rng: random.Random, name: str, arguments: dict[str, str], content: str) -> Message:
    """An assistant turn calling one tool, shaped as the runtime passes it to the template."""
    call = {
        "type": "function",
        "id": f"call_{rng.getrandbits(40):010x}",
        "function": {"name": name, "arguments": arguments},
    }
    return {"role": "assistant", "content": content, "tool_calls": [call]}


def tool_result(call: Message, content: str) -> Message:
    """The tool turn answering `call`."""
    first = call["tool_calls"][0]
    return {
        "role": "tool",
        "tool_call_id": first["id"],
        "name": first["function"]["name"],
        "content": content,
    }


def _titled(facts: Sequence[Fact], title: str) -> Fact | None:
    return next((fact for fact in facts if fact.title == title), None)


def _capital_question(fact: Fact) -> str | None:
    marker = " is the capital of "
    if not fact.text.startswith(fact.title + marker):
        return None
    country = fact.text[len(fact.title + marker) :].split(".")[0]
    return f"What is the capital of {country}?"
