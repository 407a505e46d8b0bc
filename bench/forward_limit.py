"""The physical limit: the model's bare forward pass over pre-built batches.

No tokenization, no loss, no argmax, no writes inside the timed loop: only
``model(input_ids, attention_mask)`` under ``torch.inference_mode()`` over
padded batches built beforehand. Whatever an ingest pipeline does on top of
this is overhead; this is the floor it can approach for a given batch plan.

Two batch plans are compared:

* book order: the dataset's order, ``batch_size`` rows a batch, each batch
  padded to its own longest row (what ``Dataset.map`` + the collator does);
* bucketed: rows sorted by token count, then cut into batches, so each batch
  holds rows of similar length and pads little.

CLI::

    python bench/forward_limit.py --model PATH --data FILE [--limit K]
                                  [--batch-size B] [--threads T]

prints, for each plan, the wall seconds of forward passes (and process CPU
seconds, which a busy shared machine inflates less), sentences/s, real
tokens/s and the padding fraction (pad positions / all positions).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import torch

__all__ = [
    "read_conll_words",
    "encode",
    "book_plan",
    "bucketed_plan",
    "make_batches",
    "book_batches",
    "bucketed_batches",
    "padding_fraction",
    "time_forward",
    "main",
]

Batch = tuple[torch.Tensor, torch.Tensor]


def read_conll_words(path: str, limit: int | None = None) -> list[list[str]]:
    """Words per sentence from a CoNLL-style file (token in the second column
    when there are three or more, else the first; blank lines separate
    sentences; ``-DOCSTART-`` skipped)."""
    sentences: list[list[str]] = []
    words: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    sentences.append(words)
                    words = []
                    if limit is not None and len(sentences) >= limit:
                        return sentences
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            token = cols[1] if len(cols) >= 3 else cols[0]
            if token == "-DOCSTART-":
                continue
            words.append(token)
    if words and (limit is None or len(sentences) < limit):
        sentences.append(words)
    return sentences


def encode(tokenizer, sentences: Sequence[Sequence[str]]) -> list[list[int]]:
    """Token ids per sentence, as the book tokenizes (truncation, words)."""
    enc = tokenizer(list(map(list, sentences)), truncation=True, is_split_into_words=True)
    return enc["input_ids"]


def book_plan(n: int, batch_size: int = 32) -> list[list[int]]:
    """Row indices per batch in dataset order."""
    return [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]


def bucketed_plan(lengths: Sequence[int], batch_size: int = 32) -> list[list[int]]:
    """Row indices per batch after sorting rows by length (longest first, so a
    memory problem shows up at once)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def make_batches(
    input_ids: Sequence[Sequence[int]], plan: Sequence[Sequence[int]], pad_token_id: int
) -> list[Batch]:
    """Padded (input_ids, attention_mask) LongTensors, one pair per batch of the plan."""
    batches: list[Batch] = []
    for idx in plan:
        width = max(len(input_ids[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(idx), width), dtype=torch.long)
        for r, i in enumerate(idx):
            row = input_ids[i]
            ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        batches.append((ids, mask))
    return batches


def book_batches(tokenizer, sentences, batch_size: int = 32) -> list[Batch]:
    """Book order, per-batch padding."""
    ids = encode(tokenizer, sentences)
    return make_batches(ids, book_plan(len(ids), batch_size), tokenizer.pad_token_id)


def bucketed_batches(tokenizer, sentences, batch_size: int = 32) -> list[Batch]:
    """Sorted by token count, per-batch padding."""
    ids = encode(tokenizer, sentences)
    plan = bucketed_plan([len(x) for x in ids], batch_size)
    return make_batches(ids, plan, tokenizer.pad_token_id)


def padding_fraction(batches: Sequence[Batch]) -> float:
    """Pad positions / all positions over the batches."""
    total = sum(m.numel() for _, m in batches)
    real = sum(int(m.sum()) for _, m in batches)
    return 1.0 - real / total if total else 0.0


def time_forward(model, batches: Sequence[Batch], device: str | torch.device | None = None) -> float:
    """Seconds for ``model(input_ids, attention_mask)`` over every batch,
    under ``torch.inference_mode()``; nothing else. Tensors are moved to
    ``device`` (default: the model's) beforehand, outside the timing."""
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    batches = [(i.to(device), m.to(device)) for i, m in batches]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        sync()
        t0 = time.perf_counter()
        for input_ids, attention_mask in batches:
            model(input_ids, attention_mask)
        sync()
        return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="CoNLL file (index<TAB>token<TAB>tag)")
    p.add_argument("--limit", type=int, default=None, help="first K sentences only")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches first (default 2)")
    args = p.parse_args(argv)

    from transformers import AutoModelForTokenClassification, AutoTokenizer

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForTokenClassification.from_pretrained(args.model).to(args.device).eval()

    sentences = read_conll_words(args.data, args.limit)
    ids = encode(tokenizer, sentences)
    n_tokens = sum(len(x) for x in ids)
    plans = {
        "book order": book_plan(len(ids), args.batch_size),
        "length-sorted": bucketed_plan([len(x) for x in ids], args.batch_size),
    }
    print(
        f"sentences: {len(ids)}  tokens: {n_tokens}  batch size: {args.batch_size}"
        f"  threads: {torch.get_num_threads()}  device: {args.device}"
    )
    for name, plan in plans.items():
        batches = make_batches(ids, plan, tokenizer.pad_token_id)
        if args.warmup:
            time_forward(model, batches[: args.warmup], args.device)
        c = time.process_time()
        secs = time_forward(model, batches, args.device)
        cpu = time.process_time() - c
        pad = padding_fraction(batches)
        print(
            f"{name:>14}: {secs:8.2f} s  ({cpu:7.2f} s cpu)  {len(ids) / secs:8.1f} sent/s  "
            f"{n_tokens / secs:9.0f} tok/s  padding {pad:.1%}  ({len(batches)} batches)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
