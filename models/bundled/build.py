"""`python -m models.bundled.build`: rebuilds the bundled model from nothing, deterministically.

Writes synthetic conversations, fits the tokenizer to them, trains the model and saves a folder
that `AutoTokenizer` / `AutoModelForCausalLM.from_pretrained` load offline. On one machine the
same seeds give identical weights; expect about ten minutes on two CPU cores.
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

from transformers import GenerationConfig

from models.bundled import BUNDLED_MODEL_DIR
from models.bundled.dataset import build_conversations, build_copy_drills
from models.bundled.tokenizer import render, train_tokenizer
from models.bundled.train import TrainingConfig, encode, make_deterministic, new_model, train

logger = logging.getLogger(__name__)

CONVERSATIONS = 30_000
TOKENIZER_SAMPLE = 5_000
DATA_SEED = 20240601


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
    loss = train(model, drill_examples, examples, config)
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
    logger.info(
        "saved dir=%s loss=%.4f elapsed_s=%.0f", output_dir, loss, time.monotonic() - started
    )
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=BUNDLED_MODEL_DIR)
    parser.add_argument("--conversations", type=int, default=CONVERSATIONS)
    parser.add_argument("--steps", type=int, default=TrainingConfig.steps)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = dataclasses.replace(TrainingConfig(), steps=args.steps)
    build(args.output, config, args.conversations)


if __name__ == "__main__":
    main()
