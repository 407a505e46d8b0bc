"""The book's error-analysis pipeline: the baseline lossdb is measured against.

Written from the published description in "Natural Language Processing with
Transformers" (Tunstall, von Werra, Wolf), chapter 4, "Error Analysis":
tokenize with word alignment via ``Dataset.map``, score with
``forward_pass_with_label`` via ``Dataset.map(batched=True, batch_size=32)``,
convert to pandas, sum the per-token losses per sequence, sort, and show the
top sequences with ``get_samples``.

It is deliberately the book's approach, with no speedups (no length sorting,
no inference_mode, no vectorised pandas work): it is the thing to beat.

CLI::

    python bench/book_pipeline.py --model PATH --data FILE [--n 3] [--limit K]
                                  [--threads T] [--json]

Without ``--json`` it prints the wall time per stage and the top-n sequences
as the book displays them (transposed DataFrames). With ``--json`` the stage
timings go to stderr and stdout carries only the top-n as a JSON list of
``{"seq_index", "total_loss", "tokens", "labels", "preds", "losses"}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Iterator

import pandas as pd
import torch
from datasets import ClassLabel, Dataset, Features, List, Value
from torch.nn.functional import cross_entropy
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
)

__all__ = [
    "read_conll",
    "load_model",
    "make_tokenize_and_align_labels",
    "make_forward_pass_with_label",
    "encode_dataset",
    "score_dataset",
    "to_dataframe",
    "get_samples",
    "top_sequences",
    "run_book_pipeline",
    "main",
]


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def _read_conll_sentences(path: str) -> tuple[list[list[str]], list[list[str]]]:
    """Words and tag names per sentence. With three or more columns the token
    is the second (after the index), else the first; the tag is the last.
    Blank lines separate sentences; ``-DOCSTART-`` lines are skipped."""
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    words: list[str] = []
    wtags: list[str] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    sentences.append(words)
                    tags.append(wtags)
                    words, wtags = [], []
                continue
            cols = line.split("\t") if "\t" in line else line.split()
            if cols[0] == "-DOCSTART-" or (len(cols) > 1 and cols[-2] == "-DOCSTART-"):
                continue
            # index<TAB>token<TAB>tag  (or token<TAB>tag)
            token = cols[1] if len(cols) >= 3 else cols[0]
            words.append(token)
            wtags.append(cols[-1])
    if words:
        sentences.append(words)
        tags.append(wtags)
    return sentences, tags


def read_conll(path: str, id2label: dict[int, str], limit: int | None = None) -> Dataset:
    """Read a CoNLL-style file into a ``datasets.Dataset`` with columns
    ``tokens`` and ``ner_tags``; ``ner_tags`` is a ClassLabel whose ids are
    the model's ``id2label`` order, tag names matched by name."""
    sentences, tags = _read_conll_sentences(path)
    if limit is not None:
        sentences, tags = sentences[:limit], tags[:limit]
    names = [id2label[i] for i in range(len(id2label))]
    label2id = {name: i for i, name in enumerate(names)}
    ner_tags = []
    for sent_tags in tags:
        ids = []
        for t in sent_tags:
            if t not in label2id:
                raise ValueError(f"unknown label {t!r} in {path}: model labels are {names}")
            ids.append(label2id[t])
        ner_tags.append(ids)
    features = Features(
        {
            "tokens": List(Value("string")),
            "ner_tags": List(ClassLabel(names=names)),
        }
    )
    return Dataset.from_dict({"tokens": sentences, "ner_tags": ner_tags}, features=features)


def load_model(model_path: str):
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForTokenClassification.from_pretrained(model_path)
    model.eval()
    return tokenizer, model


# --------------------------------------------------------------------------
# The book's functions
# --------------------------------------------------------------------------


def make_tokenize_and_align_labels(tokenizer):
    """The book's ``tokenize_and_align_labels`` bound to a tokenizer."""

    def tokenize_and_align_labels(examples):
        tokenized_inputs = tokenizer(
            examples["tokens"], truncation=True, is_split_into_words=True
        )
        labels = []
        for idx, label in enumerate(examples["ner_tags"]):
            word_ids = tokenized_inputs.word_ids(batch_index=idx)
            previous_word_idx = None
            label_ids = []
            for word_idx in word_ids:
                if word_idx is None or word_idx == previous_word_idx:
                    label_ids.append(-100)
                else:
                    label_ids.append(label[word_idx])
                previous_word_idx = word_idx
            labels.append(label_ids)
        tokenized_inputs["labels"] = labels
        return tokenized_inputs

    return tokenize_and_align_labels


def encode_dataset(ds: Dataset, tokenizer) -> Dataset:
    """The book's ``encode_panx_dataset``."""
    return ds.map(
        make_tokenize_and_align_labels(tokenizer),
        batched=True,
        remove_columns=["ner_tags", "tokens"],
    )


def make_forward_pass_with_label(model, tokenizer, device: str = "cpu"):
    """The book's ``forward_pass_with_label`` bound to a model."""
    data_collator = DataCollatorForTokenClassification(tokenizer)
    num_labels = model.config.num_labels

    def forward_pass_with_label(batch):
        # Convert dict of lists to list of dicts suitable for data collator
        features = [dict(zip(batch, t)) for t in zip(*batch.values())]
        # Pad inputs and labels and put all tensors on device
        batch = data_collator(features)
        input_ids = batch["input_ids"].to(device)
        attention_mask = batch["attention_mask"].to(device)
        labels = batch["labels"].to(device)
        with torch.no_grad():
            # Pass data through model
            output = model(input_ids, attention_mask)
            # logit.size: [batch_size, sequence_length, classes]
            # Predict class with largest logit value on classes axis
            predicted_label = torch.argmax(output.logits, axis=-1).cpu().numpy()
        # Calculate loss per token after flattening batch dimension with view
        loss = cross_entropy(
            output.logits.view(-1, num_labels), labels.view(-1), reduction="none"
        )
        # Unflatten batch dimension and convert to numpy array
        loss = loss.view(len(input_ids), -1).cpu().numpy()
        return {"loss": loss, "predicted_label": predicted_label}

    return forward_pass_with_label


def score_dataset(encoded: Dataset, model, tokenizer, device: str = "cpu") -> Dataset:
    """``valid_set.map(forward_pass_with_label, batched=True, batch_size=32)``."""
    return encoded.map(
        make_forward_pass_with_label(model, tokenizer, device),
        batched=True,
        batch_size=32,
    )


def to_dataframe(valid_set: Dataset, tokenizer, id2label: dict[int, str]) -> pd.DataFrame:
    """``to_pandas()`` plus the book's column conversions."""
    index2tag = dict(id2label)
    index2tag[-100] = "IGN"
    df = valid_set.to_pandas()
    df["input_tokens"] = df["input_ids"].apply(
        lambda x: tokenizer.convert_ids_to_tokens(x)
    )
    df["predicted_label"] = df["predicted_label"].apply(
        lambda x: [index2tag[i] for i in x]
    )
    df["labels"] = df["labels"].apply(lambda x: [index2tag[i] for i in x])
    df["loss"] = df.apply(lambda x: x["loss"][: len(x["input_ids"])], axis=1)
    df["predicted_label"] = df.apply(
        lambda x: x["predicted_label"][: len(x["input_ids"])], axis=1
    )
    return df


def _sample_lists(row) -> tuple[list, list, list, list]:
    """One row's labels, preds, tokens and losses as get_samples picks them: every position
    of the attention mask but the first (``len(attention_mask)`` is never an index)."""
    labels, preds, tokens, losses = [], [], [], []
    for i, mask in enumerate(row["attention_mask"]):
        if i not in {0, len(row["attention_mask"])}:
            labels.append(row["labels"][i])
            preds.append(row["predicted_label"][i])
            tokens.append(row["input_tokens"][i])
            losses.append(row["loss"][i])
    return labels, preds, tokens, losses


def get_samples(df: pd.DataFrame) -> Iterator[pd.DataFrame]:
    """The book's ``get_samples``: one transposed DataFrame per row (the first
    token is dropped; ``len(attention_mask)`` is never an index, so the last
    special token stays)."""
    for _, row in df.iterrows():
        labels, preds, tokens, losses = _sample_lists(row)
        losses = [f"{loss:.2f}" for loss in losses]
        df_tmp = pd.DataFrame(
            {"tokens": tokens, "labels": labels, "preds": preds, "losses": losses}
        ).T
        yield df_tmp


def top_sequences(df: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """``df["total_loss"] = df["loss"].apply(sum)``; sort descending; head(n)."""
    df["total_loss"] = df["loss"].apply(sum)
    return df.sort_values(by="total_loss", ascending=False).head(n)


def _records(df_top: pd.DataFrame) -> list[dict]:
    """The top rows as JSON-ready dicts, lists as get_samples builds them
    (first token dropped), losses as unrounded floats."""
    out = []
    for seq_index, row in df_top.iterrows():
        labels, preds, tokens, losses = _sample_lists(row)
        losses = [float(loss) for loss in losses]
        out.append(
            {
                "seq_index": int(seq_index),
                "total_loss": float(row["total_loss"]),
                "tokens": tokens,
                "labels": labels,
                "preds": preds,
                "losses": losses,
            }
        )
    return out


# --------------------------------------------------------------------------
# Whole pipeline
# --------------------------------------------------------------------------


def run_book_pipeline(
    model_path: str,
    data_path: str,
    n: int = 3,
    limit: int | None = None,
    threads: int | None = None,
    device: str = "cpu",
) -> dict:
    """Run the book's pipeline end to end.

    Returns ``{"timings": {"load", "tokenize", "forward", "pandas", "total"}
    (wall seconds), "cpu": same keys (process CPU seconds, all threads:
    a contention-proof figure on a shared machine), "top": [record, ...], "samples": [DataFrame, ...],
    "df": full DataFrame, "n_sequences": int}``. ``timings["pandas"]`` covers
    to_pandas, the conversions, total_loss, the sort and get_samples.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}

    t0 = time.perf_counter()
    c0 = c = time.process_time()
    tokenizer, model = load_model(model_path)
    model.to(device)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    ds = read_conll(data_path, id2label, limit=limit)
    timings["load"] = time.perf_counter() - t0
    cpu["load"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    encoded = encode_dataset(ds, tokenizer)
    timings["tokenize"] = time.perf_counter() - t
    cpu["tokenize"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    valid_set = score_dataset(encoded, model, tokenizer, device)
    timings["forward"] = time.perf_counter() - t
    cpu["forward"] = time.process_time() - c

    t, c = time.perf_counter(), time.process_time()
    df = to_dataframe(valid_set, tokenizer, id2label)
    df_top = top_sequences(df, n)
    samples = list(get_samples(df_top))
    top = _records(df_top)
    timings["pandas"] = time.perf_counter() - t
    cpu["pandas"] = time.process_time() - c
    timings["total"] = time.perf_counter() - t0
    cpu["total"] = time.process_time() - c0

    return {
        "timings": timings,
        "cpu": cpu,
        "top": top,
        "samples": samples,
        "df": df,
        "n_sequences": len(ds),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model dir or hub id")
    p.add_argument("--data", required=True, help="CoNLL file (index<TAB>token<TAB>tag)")
    p.add_argument("--n", type=int, default=3, help="top-n sequences (default 3)")
    p.add_argument("--limit", type=int, default=None, help="first K sentences only")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument("--json", action="store_true", help="top-n as JSON on stdout, timings on stderr")
    args = p.parse_args(argv)

    import datasets

    datasets.disable_progress_bars()

    res = run_book_pipeline(
        args.model, args.data, n=args.n, limit=args.limit,
        threads=args.threads, device=args.device,
    )
    tim = res["timings"]
    tim_out = sys.stderr if args.json else sys.stdout
    print(
        f"sequences: {res['n_sequences']}  threads: {torch.get_num_threads()}",
        file=tim_out,
    )
    for k in ("load", "tokenize", "forward", "pandas", "total"):
        print(f"{k:>9}: {tim[k]:8.2f} s wall  {res['cpu'][k]:8.2f} s cpu", file=tim_out)
    if args.json:
        json.dump(res["top"], sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        for rec, sample in zip(res["top"], res["samples"]):
            print(f"\nseq_index {rec['seq_index']}  total_loss {rec['total_loss']:.2f}")
            print(sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
