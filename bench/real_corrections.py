"""The label-issue rankings against real, human corrections: CoNLL-2003's English test set and
CoNLL++ (Wang et al. 2019, "CrossWeigh"), the same sentences with the labels a re-annotation
corrected. The sentences a correction changed are the positives.

    python bench/real_corrections.py --test eng.testb --corrected conllpp.test \\
        --base ../shared/models/minilm-panx-de --out bench/out/conll [--folds 4] [--epochs 3]

Neither file ships with lossdb (Reuters' licence): bring your own copies, in CoNLL format
(any tag scheme: the entities lossdb's tag grammar reads, written as IOB2). Two ways to get the
model that scores the test set, each fine-tuned from --base by the real transformers Trainer:

- `--train eng.train`: one model trained on CoNLL-2003's training set, as the test set is
  meant to be used (the setting of a user who scores a held-out set with their model);
- without it, out-of-fold, as lossdb's README describes: K models, each trained on the other
  folds of the test set itself, each scoring its own fold; `merge --out-of-fold` makes them
  one run.

Then CoNLL++ is imported as a label version and `issues --evaluate` compares every method.
Prints the table and each method's AUPRC and AUROC as a ratio to cleanlab's best sentence
score (min or softmin).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from common import parser, tokenized

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def read(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of (word, tag), CoNLL's -DOCSTART- lines dropped, tags in IOB2: the entities
    lossdb's tag grammar reads (conlleval's chunks, so IOB1 and IOB2 alike), written as IOB2."""
    from lossdb.ingest.sources import open_source
    from lossdb.queries import tags

    return [list(zip(e.words, tags.iob2(len(e.tags), tags.entities(e.tags)))) for e in open_source(str(path))]


def write(path: Path, sentences) -> None:
    path.write_text("".join("".join(f"{w}\t{t}\n" for w, t in s) + "\n" for s in sentences))


def interleaved(n: int, k: int) -> list[int]:
    """Indices 0..n-1 reordered so that position p holds an index of contiguous block p % k
    (blocks as numpy's array_split makes them: the first n % k one longer)."""
    size, extra = divmod(n, k)
    starts = [i * size + min(i, extra) for i in range(k + 1)]
    blocks = [list(range(starts[i], starts[i + 1])) for i in range(k)]
    return [b[r] for r in range(size + (extra > 0)) for b in blocks if r < len(b)]


def train(base: str, sentences, out: Path, epochs: float) -> float:
    import datasets
    import torch
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, TrainingArguments)

    data = datasets.Dataset.from_dict({"tokens": [[w for w, _ in s] for s in sentences],
                                       "ner_tags": [[t for _, t in s] for s in sentences]})
    tokenizer = AutoTokenizer.from_pretrained(base)
    label2id = {label: i for i, label in enumerate(LABELS)}
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id=label2id, ignore_mismatched_sizes=True)
    known = AutoModelForTokenClassification.from_pretrained(base)
    with torch.no_grad():  # the labels the base model knows start from its own head
        for label, i in known.config.label2id.items():
            if label in label2id:
                model.classifier.weight[label2id[label]] = known.classifier.weight[i]
                model.classifier.bias[label2id[label]] = known.classifier.bias[i]
    trainer = Trainer(model=model, processing_class=tokenizer, train_dataset=tokenized(data, tokenizer, label2id),
                      data_collator=DataCollatorForTokenClassification(tokenizer),
                      args=TrainingArguments(output_dir=str(out) + ".tmp", num_train_epochs=epochs,
                                             per_device_train_batch_size=16, learning_rate=5e-5, weight_decay=0.01,
                                             save_strategy="no", report_to=[], logging_strategy="no",
                                             disable_tqdm=True, seed=0))
    started = time.perf_counter()
    trainer.train()
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    return time.perf_counter() - started


def lossdb(*argv: str) -> str:
    result = subprocess.run([sys.executable, "-m", "lossdb", *argv], capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr.strip())
    return result.stdout


def evaluate(store: Path, run: str, corrected: Path) -> None:
    """Import `corrected` as version 'corrected' of `run`, print `issues --evaluate` and the ratios."""
    lossdb("import-labels", str(corrected), "--run", run, "--as", "corrected", "--db", str(store))
    print(lossdb("issues", "--evaluate", "corrected", "--run", run, "--db", str(store)))
    rows = json.loads(lossdb("issues", "--evaluate", "corrected", "--run", run, "--db", str(store), "--format", "json"))
    by = {r["method"]: r for r in rows}
    best = max(("min", "softmin"), key=lambda m: by[m]["auprc"])
    for r in rows:
        print(f"{r['method']:<16} AUPRC {r['auprc']:.3f} = {r['auprc'] / by[best]['auprc']:.2f}x {best}   "
              f"AUROC {r['auroc']:.3f} ({r['auroc'] - by[best]['auroc']:+.3f})")


def main() -> None:
    p = parser(__doc__, "test", "corrected", "base", "out")
    p.add_argument("--train", help="CoNLL-2003's training set: train one model on it (else out-of-fold)")
    p.add_argument("--folds", type=int, default=4)
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--split", choices=("blocks", "modulo"), default="blocks",
                   help="folds of contiguous sentences (mostly whole documents; the default) or seq_id %% K")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    test, corrected = read(Path(args.test)), read(Path(args.corrected))
    if [[w for w, _ in s] for s in test] != [[w for w, _ in s] for s in corrected]:
        sys.exit("the two files do not hold the same sentences, word for word, in the same order")
    changed = sum(a != b for a, b in zip(test, corrected))
    print(f"{len(test)} sentences; the correction changed the labels of {changed}")

    if args.train:
        write(out / "test.conll", test)
        write(out / "corrected.conll", corrected)
        model, store = out / "model-train", out / "test.duckdb"
        if not (model / "config.json").exists():
            sentences = read(Path(args.train))
            seconds = train(args.base, sentences, model, args.epochs)
            print(f"trained on {len(sentences)} sentences of {args.train} in {seconds:.0f} s")
        store.unlink(missing_ok=True)
        lossdb("ingest", "--model", str(model), "--data", str(out / "test.conll"), "--run", "test", "--db", str(store))
        return evaluate(store, "test", out / "corrected.conll")

    K = args.folds
    if args.split == "blocks":
        # fold i is the i-th contiguous block of the file, so a model rarely sees another sentence
        # of the sentence's own document (the same names, labelled the same way, right or wrong),
        # as a model trained on other documents would. `--shard i/K` takes seq_id % K == i, so the
        # files are interleaved: position p holds a sentence of block p % K.
        order = interleaved(len(test), K)
        test, corrected = [test[j] for j in order], [corrected[j] for j in order]
    write(out / "test.conll", test)
    write(out / "corrected.conll", corrected)
    for i in range(K):
        model, db = out / f"model-fold{i}", out / f"oof{i}.duckdb"
        if not (model / "config.json").exists():
            others = [s for j, s in enumerate(test) if j % K != i]
            seconds = train(args.base, others, model, args.epochs)
            print(f"fold {i}/{K}: trained on {len(others)} sentences in {seconds:.0f} s")
        db.unlink(missing_ok=True)
        lossdb("ingest", "--model", str(model), "--data", str(out / "test.conll"), "--shard", f"{i}/{K}",
               "--run", "oof", "--db", str(db))
    store = out / "oof.duckdb"
    store.unlink(missing_ok=True)
    lossdb("merge", "--out-of-fold", "--db", str(store), *(str(out / f"oof{i}.duckdb") for i in range(K)))
    evaluate(store, "oof", out / "corrected.conll")


if __name__ == "__main__":
    sys.exit(main())
