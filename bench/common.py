"""Helpers the benches share: the argument parser, timing a command, recording the batches an
ingest feeds the model (and replaying them as padded tensors), the Trainer's label alignment.

Import-light on purpose (no torch, no lossdb at module level): tests/test_dynamics.py loads
`tokenized` from here.
"""
from __future__ import annotations

import argparse
import contextlib
import subprocess
import time


def bench_sql(name: str) -> str:
    """The text of bench/sql/NAME.sql: the SQL only benchmarks run."""
    from pathlib import Path

    return (Path(__file__).parent / "sql" / f"{name}.sql").read_text()


def parser(doc: str, *required: str) -> argparse.ArgumentParser:
    """The bench's argument parser, its docstring as the help, with `--NAME` (required) for each of `required`."""
    result = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in required:
        result.add_argument(f"--{name}", required=True)
    return result


def timed(argv: list[str]) -> tuple[float, int]:
    """Wall seconds and exit status of one fresh process running `argv` (output captured)."""
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, text=True)
    return time.perf_counter() - started, result.returncode


def print_timings(rows: list[tuple[str, list[str]]], repeat: int, before=None) -> None:
    """A markdown table of each (name, argv) row: the median wall time of `repeat` fresh
    processes, and its ratio to the first row's (the baseline). `before(name)`, if given, runs
    ahead of each row's timings. A command that fails ends the bench."""
    import statistics

    print("| command | median s | x baseline |\n|---|---:|---:|")
    base = None
    for name, argv in rows:
        if before is not None:
            before(name)
        times = []
        for _ in range(repeat):
            seconds, code = timed(argv)
            if code != 0:
                raise SystemExit(f"{name} failed with exit code {code}")
            times.append(seconds)
        median = statistics.median(times)
        base = base or median
        print(f"| `{name}` | {median:.3f} | {median / base:.2f} |", flush=True)


@contextlib.contextmanager
def recording_forward(record: list | None):
    """While inside, every batch of windows `lossdb.ingest.scoring.forward` is given is appended
    to `record` as its list of input_ids lists; with `record` None, nothing is recorded."""
    from lossdb.ingest import scoring

    original = scoring.forward

    def recording(loaded, windows):
        record.append([w.input_ids.tolist() for w in windows])
        return original(loaded, windows)

    if record is not None:
        scoring.forward = recording
    try:
        yield
    finally:
        scoring.forward = original


def replayed_batches(batches: list, pad: int) -> list:
    """The recorded `batches` (lists of input_ids lists) as forward_limit's padded tensors, batch for batch."""
    import forward_limit

    flat = [ids for batch in batches for ids in batch]
    plan, start = [], 0
    for batch in batches:
        plan.append(list(range(start, start + len(batch))))
        start += len(batch)
    return forward_limit.make_batches(flat, plan, pad)


def tokenized(dataset, tokenizer, label2id):
    """The Trainer's input: input_ids, attention_mask and labels aligned to first subwords,
    beside the dataset's own tokens / ner_tags columns."""
    def encode(batch):
        enc = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True)
        labels = []
        for i, tags in enumerate(batch["ner_tags"]):
            previous, row = None, []
            for word in enc.word_ids(i):
                row.append(-100 if word is None or word == previous else label2id[tags[word]])
                previous = word
            labels.append(row)
        enc["labels"] = labels
        return enc

    return dataset.map(encode, batched=True)
