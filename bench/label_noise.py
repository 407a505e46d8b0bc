"""A realistic label-error benchmark from the PAN-X validation data.

    python bench/label_noise.py make --data ../shared/data/panx-de/validation.conllu --out bench/out/noise
    lossdb ingest --model ../shared/models/minilm-panx-de --data bench/out/noise/noisy.conll \\
        --run noisy --db bench/out/noise/noise.duckdb
    lossdb import-labels bench/out/noise/clean.jsonl --as clean --run noisy --db bench/out/noise/noise.duckdb
    lossdb issues --evaluate clean --run noisy --db bench/out/noise/noise.duckdb

    lossdb demo --out bench/out/demo --db bench/out/demo/demo.duckdb       # the demo's planted errors
    python bench/label_noise.py demo-clean --out bench/out/demo/clean.jsonl
    lossdb import-labels bench/out/demo/clean.jsonl --as clean --db bench/out/demo/demo.duckdb
    lossdb issues --evaluate clean --db bench/out/demo/demo.duckdb

`make` writes a noisy copy of the file (`noisy.conll`: its tags become the store's gold, as a
user's imperfect annotations would) and the untouched original keyed by seq_id (`clean.jsonl`:
imported as a label version, the "corrections"). A few percent of the sentences get one error
each, of the kinds annotators make (each kind chosen with equal weight among those the sentence
allows):

- wrong type: an entity's type replaced by another (B-/I- kept);
- missed entity: an entity tagged O;
- spurious entity: one or two O words that start with a capital letter (German nouns and names,
  what an annotator could mistake for a name) tagged as an entity of a random type;
- boundary one word off: an entity extended over the word before or after it (when that word
  is O), or shrunk by its first or last word (when it has two or more).

Most sentences are untouched. `--per sentence` (the default) picks the sentences uniformly;
`--per word` in proportion to their length, as if each word were equally likely to be
mislabelled (long sentences hold more errors, which a length-corrected ranking must not hide).
The seed fixes the choice, so the files are reproducible.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

TYPES = ("PER", "ORG", "LOC")
KINDS = ("wrong_type", "missed", "spurious", "boundary")


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """The sentences of a CoNLL file (token in the second-last column... tag in the last)."""
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append((words, tags))
            words, tags = [], []
            continue
        cols = line.split("\t")
        words.append(cols[-2])
        tags.append(cols[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def entities(tags: list[str]) -> list[tuple[int, int, str]]:
    """IOB2 spans (start, end exclusive, type)."""
    spans, start, kind = [], None, None
    for i, tag in enumerate([*tags, "O"]):
        if start is not None and not (tag.startswith("I-") and tag[2:] == kind):
            spans.append((start, i, kind))
            start = None
        if tag.startswith("B-") or (tag.startswith("I-") and start is None):
            start, kind = i, tag[2:]
    return spans


def span_tags(n: int, kind: str) -> list[str]:
    return [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)


def corrupt(words: list[str], tags: list[str], rng: random.Random) -> tuple[list[str], str] | None:
    """One annotation error in a copy of `tags`, and its kind; None when none applies."""
    spans = entities(tags)
    options = []
    if spans:
        options += ["wrong_type", "missed", "boundary"]
    capital_o = [i for i, (w, t) in enumerate(zip(words, tags)) if t == "O" and w[:1].isupper()]
    if capital_o:
        options.append("spurious")
    if not options:
        return None
    kind = rng.choice(options)
    new = list(tags)
    if kind == "wrong_type":
        start, end, t = rng.choice(spans)
        new[start:end] = span_tags(end - start, rng.choice([x for x in TYPES if x != t]))
    elif kind == "missed":
        start, end, _ = rng.choice(spans)
        new[start:end] = ["O"] * (end - start)
    elif kind == "spurious":
        i = rng.choice(capital_o)
        end = i + 2 if i + 1 < len(words) and tags[i + 1] == "O" and words[i + 1][:1].isupper() else i + 1
        new[i:end] = span_tags(end - i, rng.choice(TYPES))
    else:
        start, end, t = rng.choice(spans)
        moves = []
        if start > 0 and tags[start - 1] == "O":
            moves.append("extend_left")
        if end < len(tags) and tags[end] == "O":
            moves.append("extend_right")
        if end - start >= 2:
            moves += ["shrink_left", "shrink_right"]
        if not moves:
            return None
        move = rng.choice(moves)
        if move == "extend_left":
            new[start - 1:end] = span_tags(end - start + 1, t)
        elif move == "extend_right":
            new[end] = f"I-{t}"
        elif move == "shrink_left":
            new[start:end] = ["O"] + span_tags(end - start - 1, t)
        else:
            new[end - 1] = "O"
    return (new, kind) if new != tags else None


def make(data: Path, out: Path, *, rate: float, seed: int, per: str = "sentence") -> dict:
    sentences = read_conll(data)
    rng = random.Random(seed)
    k = round(rate * len(sentences))
    if per == "sentence":  # every sentence equally likely to hold the error
        chosen = sorted(rng.sample(range(len(sentences)), k))
    else:  # every word equally likely: a long sentence is more likely to hold one
        weights = {i: len(words) for i, (words, _) in enumerate(sentences)}
        chosen = set()
        while len(chosen) < k:
            chosen.update(rng.choices(list(weights), weights=list(weights.values()), k=k - len(chosen)))
        chosen = sorted(chosen)
    noisy = [list(t) for _, t in sentences]
    kinds: dict[str, int] = {}
    changed = []
    for i in chosen:
        result = corrupt(sentences[i][0], sentences[i][1], rng)
        if result is None:
            continue
        noisy[i], kind = result
        kinds[kind] = kinds.get(kind, 0) + 1
        changed.append(i)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "noisy.conll").open("w", encoding="utf-8") as f:
        for (words, _), tags in zip(sentences, noisy):
            f.writelines(f"{w}\t{t}\n" for w, t in zip(words, tags))
            f.write("\n")
    with (out / "clean.jsonl").open("w", encoding="utf-8") as f:
        for seq_id, (words, tags) in enumerate(sentences):
            f.write(json.dumps({"seq_id": seq_id, "words": words, "labels": tags}, ensure_ascii=False) + "\n")
    summary = {"sentences": len(sentences), "changed": len(changed), "kinds": kinds, "seed": seed, "rate": rate, "per": per,
               "changed_seq_ids": changed}
    (out / "noise.json").write_text(json.dumps(summary) + "\n", encoding="utf-8")
    return summary


def demo_clean(out: Path, *, n_eval: int = 300, seed: int = 0) -> int:
    """The demo's evaluation sentences before plant_label_errors (lossdb.demo.build_demo's
    defaults), keyed by seq_id, to import as the version that corrects its planted errors."""
    from lossdb import demo

    sentences = demo.make_sentences(n_eval, seed=2 * seed + 1)
    with out.open("w", encoding="utf-8") as f:
        for seq_id, (words, tags) in enumerate(sentences):
            f.write(json.dumps({"seq_id": seq_id, "words": list(words), "labels": list(tags)}) + "\n")
    return len(sentences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="write noisy.conll and clean.jsonl")
    m.add_argument("--data", type=Path, required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--rate", type=float, default=0.04, help="share of sentences given one error [default: 0.04]")
    m.add_argument("--seed", type=int, default=14)
    m.add_argument("--per", choices=("sentence", "word"), default="sentence",
                   help="choose the sentences to change uniformly, or in proportion to their words")
    d = sub.add_parser("demo-clean", help="write the `lossdb demo` sample's clean labels as JSONL")
    d.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "demo-clean":
        print(f"{demo_clean(args.out):,} sentences -> {args.out}")
        return
    summary = make(args.data, args.out, rate=args.rate, seed=args.seed, per=args.per)
    print(f"{summary['changed']:,} of {summary['sentences']:,} sentences changed: {summary['kinds']}")


if __name__ == "__main__":
    main()
