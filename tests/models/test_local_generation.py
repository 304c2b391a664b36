"""The decode engine and its parts: step loop, cancellation, detokeniser, stop strings, pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import torch

from threadloom.models.detokenizer import IncrementalDetokenizer
from threadloom.models.errors import GenerationError
from threadloom.models.generation import SamplingParams, TokenEvent, TransformersGenerator
from threadloom.models.generation_pool import MAX_INTERVAL_S, GenerationPool, batch_spacing
from threadloom.models.local import LocalChatModel
from threadloom.models.stop_sequences import StopSequenceFilter


def _prompt_ids(model: LocalChatModel, text: str = "Tell me a story") -> list[int]:
    return model.tokenizer(text, add_special_tokens=False)["input_ids"]


def test_engine_matches_transformers_greedy_generate(
    tiny_engine: TransformersGenerator, tiny_chat_model: LocalChatModel
) -> None:
    prompt = _prompt_ids(tiny_chat_model)
    events = list(tiny_engine.stream(prompt, SamplingParams(max_new_tokens=12), threading.Event()))
    expected = tiny_engine.model.generate(
        torch.tensor([prompt]), max_new_tokens=12, do_sample=False, attention_mask=None
    )[0, len(prompt) :].tolist()
    assert [e.token_id for e in events] == expected
    assert [e.finish_reason for e in events] == [None] * 11 + ["length"]


def test_engine_stops_within_one_step_of_cancel(
    tiny_engine: TransformersGenerator, tiny_chat_model: LocalChatModel
) -> None:
    cancel = threading.Event()
    events = tiny_engine.stream(
        _prompt_ids(tiny_chat_model), SamplingParams(max_new_tokens=50), cancel
    )
    for _ in range(3):
        next(events)
    cancel.set()
    assert list(events) == []


def test_engine_refuses_prompt_longer_than_the_model_reads(
    tiny_engine: TransformersGenerator,
) -> None:
    too_long = [5] * (tiny_engine.max_positions or 0)
    with pytest.raises(GenerationError, match="Shorten the conversation"):
        next(tiny_engine.stream(too_long, SamplingParams(max_new_tokens=4), threading.Event()))


def test_repetition_penalty_changes_greedy_choice(
    tiny_engine: TransformersGenerator, tiny_chat_model: LocalChatModel
) -> None:
    prompt = _prompt_ids(tiny_chat_model)

    def run(penalty: float) -> list[int]:
        params = SamplingParams(max_new_tokens=30, repetition_penalty=penalty)
        events = tiny_engine.stream(prompt, params, threading.Event())
        return [e.token_id for e in events]

    plain, penalised = run(1.0), run(5.0)
    assert plain != penalised
    assert len(set(penalised)) > len(set(plain))


def test_detokenizer_never_emits_half_a_character(tiny_chat_model: LocalChatModel) -> None:
    tokenizer = tiny_chat_model.tokenizer
    text = "ℵ𝔘 rare glyphs, then 東京 🙂"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert len(ids) > len(text.split())  # the rare glyphs are split into byte tokens
    detok = IncrementalDetokenizer(tokenizer, _prompt_ids(tiny_chat_model, "Hi"))
    deltas = [detok.add(token) for token in ids] + [detok.flush()]
    assert "".join(deltas) == text
    assert all("\ufffd" not in delta for delta in deltas)
    assert "" in deltas  # some tokens completed no character yet


@pytest.mark.parametrize(
    ("pieces", "shown"),
    [
        (["Action: x\nObserv", "ation: 3"], "Action: x\n"),
        (["no stop here, Obs", "erving is fine"], "no stop here, Observing is fine"),
        (["Observation:"], ""),
        (["a", "b", "Obs", "ervation:", " later"], "ab"),
    ],
)
def test_stop_filter_holds_back_possible_prefixes(pieces: list[str], shown: str) -> None:
    stops = StopSequenceFilter(["Observation:"])
    out = [stops.feed(piece) for piece in pieces]
    if not stops.stopped:
        out.append(stops.flush())
    assert "".join(out) == shown
    assert all(not part.endswith(("O", "Obs")) for part in out[:-1] if part)


def test_stop_filter_cuts_at_the_earliest_of_several() -> None:
    stops = StopSequenceFilter(["END", "STOP"])
    assert stops.feed("one STOP two END") == "one "
    assert stops.stopped


class _FailingGenerator:
    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        yield TokenEvent(1)
        raise GenerationError("the worker failed")


def test_pool_reraises_worker_errors_in_the_consumer() -> None:
    pool = GenerationPool(_FailingGenerator())
    events = pool.stream([0], SamplingParams())
    assert next(events) == TokenEvent(1)
    with pytest.raises(GenerationError, match="the worker failed"):
        next(events)
    pool.shutdown()


async def test_pool_reraises_worker_errors_in_async_consumer() -> None:
    pool = GenerationPool(_FailingGenerator())
    seen = []
    with pytest.raises(GenerationError, match="the worker failed"):
        async for event in pool.astream([0], SamplingParams()):
            seen.append(event)
    assert seen == [TokenEvent(1)]
    pool.shutdown()


def test_pool_runs_in_a_worker_thread() -> None:
    threads: list[str] = []

    class Recording:
        def stream(
            self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
        ) -> Iterator[TokenEvent]:
            threads.append(threading.current_thread().name)
            yield TokenEvent(1, "length")

    pool = GenerationPool(Recording(), max_concurrent=2)
    assert list(pool.stream([0], SamplingParams())) == [TokenEvent(1, "length")]
    assert threads[0].startswith("threadloom-generate")
    pool.shutdown()


def test_bad_sampling_values_are_refused_before_decoding(tiny_chat_model: LocalChatModel) -> None:
    with pytest.raises(ValueError, match="top_p must be in"):
        tiny_chat_model.invoke("Hi", top_p=1.5)
    with pytest.raises(ValueError, match="max_new_tokens must be at least 1"):
        SamplingParams(max_new_tokens=0)


class _GatedGenerator:
    """Emits one token, then the rest only once `release` is set: a consumer that looks between
    the two sees them as two hand-overs."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.release = threading.Event()

    def stream(
        self, input_ids: list[int], params: SamplingParams, cancel: threading.Event
    ) -> Iterator[TokenEvent]:
        yield TokenEvent(0)
        self.release.wait()
        for token_id in range(1, self.count):
            yield TokenEvent(token_id)


async def test_pool_hands_tokens_over_in_batches_and_ends_without_waiting_out_the_interval() -> (
    None
):
    generator = _GatedGenerator(50)
    pool = GenerationPool(generator)
    batches = []
    # An interval longer than the test's timeout: only the end of the generation can cut the
    # wait after the first batch short.
    async for batch in pool.astream_batches([0], SamplingParams(), interval_s=600.0):
        batches.append([event.token_id for event in batch])
        generator.release.set()
    pool.shutdown()

    assert batches[0] == [0]  # the first token at once
    assert [token for batch in batches for token in batch] == list(range(50))
    assert len(batches) == 2  # the 49 that came during the interval, as one batch


async def test_streamed_chunks_with_an_interval_say_what_token_by_token_chunks_say(
    tiny_chat_model: LocalChatModel,
) -> None:
    by_token = tiny_chat_model.model_copy(update={"stream_interval_ms": 0.0})
    batched = tiny_chat_model.model_copy(update={"stream_interval_ms": 50.0})

    single = [chunk async for chunk in by_token.astream("Tell me a story")]
    merged = [chunk async for chunk in batched.astream("Tell me a story")]

    assert "".join(str(c.content) for c in merged) == "".join(str(c.content) for c in single)
    assert len(merged) <= len(single)


def test_batches_come_further_apart_as_more_streams_decode_up_to_a_bound() -> None:
    assert batch_spacing(0.015, 1) == 0.015
    assert batch_spacing(0.015, 4) == pytest.approx(0.06)
    assert batch_spacing(0.015, 32) == MAX_INTERVAL_S
    assert batch_spacing(0.0, 32) == 0.0  # token by token stays token by token
    assert batch_spacing(0.5, 2) == 0.5  # an interval set above the bound is kept
