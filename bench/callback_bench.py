"""What LossdbCallback costs: per epoch, the seconds it spends scoring the training set and
committing the run, next to the seconds the Trainer spent training that epoch (the baseline,
measured in the same run).

    python bench/callback_bench.py --model ../shared/models/minilm-panx-de \
        --data ../shared/data/panx-de/validation.conllu [--limit 256] [--epochs 2] [--batch-size 16]

The model is fine-tuned (the real transformers Trainer, real optimiser steps) on the first
--limit sentences, and the callback scores those same sentences after every epoch, as a
user tracking training dynamics would. Writes one line per epoch and the overall ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--limit", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, help="also write the lines to this file")
    args = parser.parse_args()

    import datasets
    import torch
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, TrainingArguments)

    from lossdb.ingest.sources import open_source
    from lossdb.integrations.transformers import LossdbCallback

    examples = [e for _, e in zip(range(args.limit), open_source(args.data))]
    dataset = datasets.Dataset.from_dict({"tokens": [e.words for e in examples], "ner_tags": [e.tags for e in examples]})
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(args.model)
    label2id = model.config.label2id

    with tempfile.TemporaryDirectory() as tmp:
        callback = LossdbCallback(Path(tmp) / "bench.duckdb", dataset, group="train", verbose=False)
        trainer = Trainer(
            model=model, processing_class=tokenizer, callbacks=[callback],
            train_dataset=common.tokenized(dataset, tokenizer, label2id), data_collator=DataCollatorForTokenClassification(tokenizer),
            args=TrainingArguments(output_dir=tmp, num_train_epochs=args.epochs, per_device_train_batch_size=args.batch_size,
                                   learning_rate=2e-5, save_strategy="no", report_to=[], logging_strategy="no",
                                   disable_tqdm=True, seed=0))
        started = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - started
    device = "cuda" if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} torch threads"
    lines = [f"{len(examples)} PAN-X sentences, {args.epochs} epochs, batch {args.batch_size}, {Path(args.model).name} on {device}"]
    for cost in callback.costs:
        lines.append(f"{cost.run:<10} training {cost.train_seconds:7.1f} s   callback (score + commit) "
                     f"{cost.scoring_seconds:6.1f} s   ratio {cost.ratio:.3f}")
    train_s = sum(c.train_seconds for c in callback.costs)
    score_s = sum(c.scoring_seconds for c in callback.costs)
    lines.append(f"all epochs  training {train_s:7.1f} s   callback {score_s:6.1f} s   ratio {score_s / train_s:.3f}   "
                 f"(trainer.train() {total:.1f} s wall)")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
