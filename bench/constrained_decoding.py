"""Constrained decoding on the bundled model: what the grammar mask costs per token, and how
often tool calls parse with and without it.

    python -m bench.constrained_decoding          # about a minute on 2 shared cores

Cost: the same prompts decoded greedily by the batching scheduler's token path, free and under
a grammar (`tool_choice="auto"`: the free-text lexer runs every token; a JSON schema), rounds
interleaved so load drifts hit both; ms per generated token, medians. Goal (issue 20 §5): <= 10%
slower per token with the mask.

Validity: a fixed set of questions with two tools bound under `tool_choice="required"` and
`"auto"`; a reply counts as valid when it has no invalid call, every call names a bound tool and
its arguments pass the tool's JSON schema (and "required" has at least one call). Goal: 100%
valid with constraints.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import jsonschema
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from bench.local_model import machine_load
from threadloom.models.generation import SamplingParams, TransformersGenerator
from threadloom.models.loading import load_local_model
from threadloom.models.local import LocalChatModel
from threadloom.models.output_constraint import OutputConstraints

QUESTIONS = [
    "hello there",
    "tell me a joke",
    "what is the capital of France?",
    "What is 25^0.43?",
    "How old is Vittoria Ceretti?",
    "What is the weather in Paris?",
    "convert 3 dollars to euros",
    "Search for the tallest mountain",
    "who are you?",
    "bye",
]
COST_GOAL = 1.10


@tool
def weather(city: str) -> str:
    """The current weather in a city."""
    return city


@tool
def convert(amount: float, unit: str) -> str:
    """Convert an amount of money to another currency unit."""
    return unit


TOOLS = [weather, convert]


def _ms_per_token(
    engine: TransformersGenerator, prompt: list[int], params: SamplingParams
) -> float:
    started = time.perf_counter()
    count = sum(1 for _ in engine.stream(prompt, params, threading.Event()))
    return (time.perf_counter() - started) * 1000 / count


def measure_cost(model: LocalChatModel, rounds: int, tokens: int) -> dict[str, float]:
    """Median ms per token: free, under the auto tool grammar, under a JSON schema."""
    engine = TransformersGenerator(model.generator.model)
    schemas = [convert_to_openai_tool(t) for t in TOOLS]
    constraints = OutputConstraints(model.tokenizer, engine.eos_token_ids)
    grammars = {
        "free": None,
        "auto tools": constraints.for_tools(model.resolved_tool_call_format, schemas, "auto"),
        "json schema": constraints.for_json(schemas[1]["function"]["parameters"]),
    }
    prompts = [
        model.tokenizer(model.render_prompt([HumanMessage(q)], TOOLS), add_special_tokens=False)[
            "input_ids"
        ]
        for q in QUESTIONS
    ]
    samples: dict[str, list[float]] = {name: [] for name in grammars}
    for _ in range(rounds):
        for prompt in prompts:
            for name, grammar in grammars.items():
                params = SamplingParams(max_new_tokens=tokens, grammar=grammar)
                samples[name].append(_ms_per_token(engine, prompt, params))
    return {name: statistics.median(values) for name, values in samples.items()}


def _valid(reply: object, required: bool) -> bool:
    schemas = {
        s["function"]["name"]: s["function"]["parameters"]
        for s in map(convert_to_openai_tool, TOOLS)
    }
    calls = getattr(reply, "tool_calls", [])
    if getattr(reply, "invalid_tool_calls", []) or (required and not calls):
        return False
    for call in calls:
        if call["name"] not in schemas:
            return False
        try:
            jsonschema.validate(call["args"], schemas[call["name"]])
        except jsonschema.ValidationError:
            return False
    return True


def measure_validity(model: LocalChatModel, constrained: bool) -> dict[str, float]:
    """Share of valid replies per tool_choice mode."""
    chosen = model.model_copy(update={"constrain_tool_calls": constrained})
    shares = {}
    for mode in ("required", "auto"):
        bound = chosen.bind_tools(TOOLS, tool_choice=mode)
        valid = [_valid(bound.invoke(q), mode == "required") for q in QUESTIONS]
        shares[mode] = sum(valid) / len(valid)
    return shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    model = load_local_model("bundled", device="cpu", max_new_tokens=96)
    print(machine_load())
    cost = measure_cost(model, args.rounds, args.tokens)
    free = cost["free"]
    print("decode cost, ms per token (median):")
    for name, value in cost.items():
        ratio = value / free
        verdict = (
            ""
            if name == "free"
            else f"  goal <= {COST_GOAL:.2f}x: " + ("met" if ratio <= COST_GOAL else "MISSED")
        )
        print(f"  {name:12s} {value:7.3f} ms  {ratio:5.2f}x{verdict}")
    print("valid tool-call replies over", len(QUESTIONS), "questions:")
    for constrained in (False, True):
        shares = measure_validity(model, constrained)
        label = "constrained  " if constrained else "unconstrained"
        parts = "  ".join(f"{mode} {share:4.0%}" for mode, share in shares.items())
        verdict = ""
        if constrained:
            verdict = "  goal 100%: " + ("met" if min(shares.values()) == 1 else "MISSED")
        print(f"  {label} {parts}{verdict}")
    model.generator.shutdown()


if __name__ == "__main__":
    main()
