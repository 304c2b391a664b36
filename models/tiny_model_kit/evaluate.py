"""`python -m threadloom.models.tiny_model_kit.evaluate`: how well the bundled model runs the agent
loop.

Held-out questions go through a plain loop: `apply_chat_template` with the tools, greedy
`generate`, the runtime's hermes parser, the real calculator and search; until the model answers
without a call. Each kind of question reports how often the calls were right and how often the
answer held what it must (the calculator's result, the person's name). Questions about people
come from the real corpus (facts never trained on) and from a freshly drawn synthetic world.
"""

from __future__ import annotations

import argparse
import logging
import random
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from threadloom.models.bundled import BUNDLED_MODEL_DIR
from threadloom.models.tiny_model_kit.dataset import (
    DEFAULT_SYSTEM_PROMPT,
    Subjects,
    split_corpus,
    tool_schemas,
)
from threadloom.models.tiny_model_kit.dialogues import (
    Message,
    Scripter,
    first_clause,
    tool_call,
    tool_result,
    user,
)
from threadloom.models.tiny_model_kit.reading import read
from threadloom.models.tiny_model_kit.world import build_world
from threadloom.models.tool_calls import parse_reply
from threadloom.tools.bm25 import SearchIndex
from threadloom.tools.calculator import CalculatorError, calculator, evaluate, format_number
from threadloom.tools.search import RESULTS_PER_QUERY, bundled_index, format_results

logger = logging.getLogger(__name__)

EVAL_SEED = 7
MAX_MODEL_TURNS = 5
MAX_NEW_TOKENS = 200
CASES_PER_KIND = 40
DEMO_QUESTION = (
    "Who is Leo DiCaprio's girlfriend? What is her current age raised to the 0.43 power?"
)


@dataclass(frozen=True)
class Case:
    """A question, the calls a perfect agent makes and what its answer must contain."""

    kind: str
    question: str
    calls: list[tuple[str, dict[str, Any]]]
    keys: list[str]
    index: SearchIndex


@dataclass
class Outcome:
    """What the model did with one case."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answer: str = ""
    new_tokens: int = 0
    seconds: float = 0.0


class Agent:
    """The model in a ReAct loop with the real tools, prompted as the runtime prompts it."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.schemas = tool_schemas()

    def run(self, question: str, index: SearchIndex) -> Outcome:
        """Answers `question`, searching `index`; stops after MAX_MODEL_TURNS replies."""
        messages: list[Message] = [
            {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
            user(question),
        ]
        outcome = Outcome()
        rng = random.Random(0)
        for _ in range(MAX_MODEL_TURNS):
            reply = parse_reply(self._generate(messages, outcome), "hermes")
            if not reply.tool_calls:
                outcome.answer = reply.content
                return outcome
            for call in reply.tool_calls:
                outcome.calls.append((call["name"], call["args"]))
                message = tool_call(rng, call["name"], call["args"], reply.content)
                messages += [message, tool_result(message, _run_tool(call, index))]
        return outcome

    def _generate(self, messages: list[Message], outcome: Outcome) -> str:
        inputs = self.tokenizer.apply_chat_template(
            messages,
            tools=self.schemas,
            add_generation_prompt=True,
            return_dict=True,
            return_tensors="pt",
        )
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        outcome.seconds += time.perf_counter() - started
        new = output[0, inputs["input_ids"].shape[1] :]
        outcome.new_tokens += len(new)
        return self.tokenizer.decode(new, skip_special_tokens=True)


def _run_tool(call: dict[str, Any], index: SearchIndex) -> str:
    """The tool's output, or an error text shaped like the graph's tool node writes it.

    Search is the `search` tool's own formatting over `index`, which is the bundled corpus or,
    for questions about the fresh synthetic world, that world plus the corpus.
    """
    args = call["args"]
    try:
        if call["name"] == "calculator":
            return calculator.invoke({"expression": str(args.get("expression", ""))})
        if call["name"] == "search":
            query = str(args.get("query", ""))
            return format_results(query, index.search(query, k=RESULTS_PER_QUERY))
    except CalculatorError as exc:
        return f"Error: Tool 'calculator' failed: CalculatorError: {exc}"
    return f"Error: Unknown tool {call['name']!r}. Available tools: calculator, search."


def build_cases(arithmetic: int, small_talk: int, synthetic_people: int) -> list[Case]:
    """Held-out cases: fresh arithmetic and small talk, held-out corpus facts, a new world."""
    rng = random.Random(EVAL_SEED)
    real_index = bundled_index()
    _, held_out = split_corpus(real_index.facts)
    world = build_world(rng, couples=synthetic_people, singles=0, countries=0)
    real = Scripter(rng, real_index)
    fresh = Scripter(rng, SearchIndex([*real_index.facts, *world]))
    cases = [_demo(real_index)]
    cases += [_case("arithmetic", real.arithmetic(), real_index) for _ in range(arithmetic)]
    cases += [_case("small talk", real.small_talk(), real_index) for _ in range(small_talk)]
    cases += _people_cases(real, Subjects.of(held_out), "corpus")
    cases += _people_cases(fresh, Subjects.of(world), "synthetic")
    return cases


def _people_cases(scripter: Scripter, subjects: Subjects, origin: str) -> list[Case]:
    """Questions about people and things: relations, chains on ages, plain look-ups."""
    cases, index = [], scripter.index
    titles = {fact.title for fact in index.facts}
    for person, relation in subjects.relations:
        name = person.relations[relation]
        if name not in titles:  # nobody can tell the age of someone the corpus does not describe
            continue
        chain = scripter.relation(person, relation, compute=True)
        cases.append(_case(f"search->calculator ({origin})", chain, index, [name]))
        plain = scripter.relation(person, relation, compute=False)
        cases.append(_case(f"relation ({origin})", plain, index, [name]))
    for person in subjects.ages[:CASES_PER_KIND]:
        chain = scripter.age(person, compute=True)
        cases.append(_case(f"age->calculator ({origin})", chain, index, [f" {person.age} "]))
    for fact in subjects.lookups[:CASES_PER_KIND]:
        lookup = scripter.lookup(scripter.lookup_question(fact))
        cases.append(_case(f"lookup ({origin})", lookup, index, [lookup[-1]["content"]]))
    return cases


def _demo(index: SearchIndex) -> Case:
    """The project's example question: search, then the girlfriend's age to the power 0.43."""
    girlfriend = next(fact for fact in index.facts if fact.title == "Vittoria Ceretti")
    expression = f"{read(girlfriend).age}^0.43"
    calls = [
        ("search", {"query": first_clause(DEMO_QUESTION)}),
        ("calculator", {"expression": expression}),
    ]
    keys = [girlfriend.title, format_number(evaluate(expression))]
    return Case("demo", DEMO_QUESTION, calls, keys, index)


def _case(
    kind: str, messages: list[Message], index: SearchIndex, keys: list[str] | None = None
) -> Case:
    """A case from a scripted exchange; `keys` count only where the script's answer has them."""
    calls = [
        (call["function"]["name"], call["function"]["arguments"])
        for message in messages
        for call in message.get("tool_calls", [])
    ]
    answer = messages[-1]["content"]
    required = [key for key in keys or [] if key in answer]
    if calls and calls[-1][0] == "calculator":
        required.append(messages[-2]["content"])  # the calculator's result, copied
    return Case(kind, messages[0]["content"], calls, required, index)


def _same_calls(
    expected: list[tuple[str, dict[str, Any]]], made: list[tuple[str, dict[str, Any]]]
) -> bool:
    if len(expected) != len(made):
        return False
    return all(
        name == made_name and _same_arguments(name, args, made_args)
        for (name, args), (made_name, made_args) in zip(expected, made, strict=True)
    )


def _same_arguments(name: str, expected: dict[str, Any], made: dict[str, Any]) -> bool:
    if name != "calculator":
        return expected == made
    try:  # "17 * 23" is as right as "17*23"
        return format_number(evaluate(expected["expression"])) == format_number(
            evaluate(str(made.get("expression", "")))
        )
    except CalculatorError:
        return expected == made


def evaluate_model(model_dir: Path, cases: list[Case]) -> dict[str, dict[str, float]]:
    """Per kind of case: share of right calls, of right answers, of both; plus tokens/s."""
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    agent = Agent(model, tokenizer)
    totals: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    tokens, seconds = 0, 0.0
    for case in cases:
        outcome = agent.run(case.question, case.index)
        calls_ok = _same_calls(case.calls, outcome.calls)
        answer_ok = all(key in outcome.answer for key in case.keys)
        totals[case.kind].append((calls_ok, answer_ok))
        tokens, seconds = tokens + outcome.new_tokens, seconds + outcome.seconds
        if not (calls_ok and answer_ok):
            logger.info(
                "miss kind=%s question=%r calls=%s answer=%r expected=%s %s",
                case.kind,
                case.question,
                outcome.calls,
                outcome.answer,
                case.calls,
                case.keys,
            )
    report = {
        kind: {
            "cases": len(results),
            "calls": _share(ok for ok, _ in results),
            "answers": _share(ok for _, ok in results),
            "both": _share(calls and answer for calls, answer in results),
        }
        for kind, results in totals.items()
    }
    report["speed"] = {"new_tokens": tokens, "tokens_per_s": tokens / seconds if seconds else 0.0}
    return report


def _share(values: Iterable[bool]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--arithmetic", type=int, default=100)
    parser.add_argument("--small-talk", type=int, default=30)
    parser.add_argument("--synthetic-people", type=int, default=30)
    parser.add_argument("--verbose", action="store_true", help="log every miss")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    torch.manual_seed(0)
    cases = build_cases(args.arithmetic, args.small_talk, args.synthetic_people)
    report = evaluate_model(args.model, cases)
    speed = report.pop("speed")
    print(f"{'kind':<34}{'cases':>6}{'calls':>8}{'answers':>9}{'both':>7}")
    for kind, row in report.items():
        print(
            f"{kind:<34}{row['cases']:>6}{row['calls']:>8.0%}{row['answers']:>9.0%}{row['both']:>7.0%}"
        )
    print(f"greedy decoding: {speed['tokens_per_s']:.0f} new tokens/s on CPU")


if __name__ == "__main__":
    main()
