"""`python -m threadloom.models.tiny_model_kit.build`: rebuilds the bundled model from nothing,
deterministically.

Writes synthetic conversations, fits the tokenizer to them, trains the model and saves a folder
that `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained` load offline. On one machine the
same seeds give identical weights; expect about half an hour on two otherwise idle CPU cores.

`--refine-from DIR` runs only the last phase, on the model that the earlier phases left in DIR
(the same weights a full build reaches, in a few minutes instead).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import time
from pathlib import Path

# Before torch loads OpenMP: threads that spin while waiting slow everyone on a shared CPU,
# this build most of all (several times slower when other processes compete for the cores).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GenerationConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
)

from threadloom.models.bundled import BUNDLED_MODEL_DIR
from threadloom.models.tiny_model_kit.dataset import (
    REFINE_KIND_WEIGHTS,
    REFINE_TURN_WEIGHTS,
    build_conversations,
    build_copy_drills,
)
from threadloom.models.tiny_model_kit.tokenizer import render, train_tokenizer
from threadloom.models.tiny_model_kit.train import (
    TrainingConfig,
    encode,
    make_deterministic,
    new_model,
    refine,
    train,
)

logger = logging.getLogger(__name__)

CONVERSATIONS = 30_000
REFINE_CONVERSATIONS = 8_000
TOKENIZER_SAMPLE = 5_000
DATA_SEED = 20240601
REFINE_DATA_SEED = 20240602


def build(
    output_dir: Path = BUNDLED_MODEL_DIR,
    config: TrainingConfig | None = None,
    conversations: int = CONVERSATIONS,
) -> float:
    """Builds the model into `output_dir`, replacing what was there; returns the final loss."""
    config = config or TrainingConfig()
    make_deterministic(config)
    started = time.monotonic()
    dialogues = build_conversations(conversations, seed=DATA_SEED)
    drills = build_copy_drills(config.copy_steps * config.copy_batch_size, seed=DATA_SEED)
    rendered = [render(dialogue.messages, dialogue.tools) for dialogue in dialogues]
    tokenizer = train_tokenizer(text for text, _ in rendered[:TOKENIZER_SAMPLE])
    examples = encode(tokenizer, rendered)
    drill_examples = encode(tokenizer, [render(d.messages, d.tools) for d in drills])
    tokens = sum(len(example.input_ids) for example in examples)
    logger.info(
        "data conversations=%d tokens=%d vocab=%d elapsed_s=%.0f",
        len(examples),
        tokens,
        len(tokenizer),
        time.monotonic() - started,
    )
    model = new_model(tokenizer, config)
    logger.info("model parameters=%d", model.num_parameters())
    train(model, drill_examples, examples, config)
    loss = refine_model(model, tokenizer, config)
    save(model, tokenizer, output_dir)
    logger.info(
        "saved dir=%s loss=%.4f elapsed_s=%.0f", output_dir, loss, time.monotonic() - started
    )
    return loss


def refine_model(
    model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, config: TrainingConfig
) -> float:
    """The last phase (see TrainingConfig) on its own conversations; returns its final loss."""
    dialogues = build_conversations(
        REFINE_CONVERSATIONS,
        seed=REFINE_DATA_SEED,
        kind_weights=REFINE_KIND_WEIGHTS,
        turn_weights=REFINE_TURN_WEIGHTS,
    )
    examples = encode(tokenizer, [render(d.messages, d.tools) for d in dialogues])
    return refine(model, examples, config)


def save(model: LlamaForCausalLM, tokenizer: PreTrainedTokenizerFast, output_dir: Path) -> None:
    """Writes the model folder, replacing what was there."""
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
        max_new_tokens=256,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in output_dir.iterdir():
        stale.unlink()
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument("--steps", type=int, default=TrainingConfig.steps)
    parser.add_argument("--refine-steps", type=int, default=TrainingConfig.refine_steps)
    parser.add_argument("--refine-from", type=Path, help="a model the earlier phases trained")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = dataclasses.replace(TrainingConfig(), steps=args.steps, refine_steps=args.refine_steps)
    if args.refine_from is None:
        build(args.output, config, args.conversations)
        return
    make_deterministic(config)
    tokenizer = AutoTokenizer.from_pretrained(args.refine_from)
    model = AutoModelForCausalLM.from_pretrained(args.refine_from)
    loss = refine_model(model, tokenizer, config)
    save(model, tokenizer, args.output)
    logger.info("saved dir=%s loss=%.4f", args.output, loss)


if __name__ == "__main__":
    main()
