"""The demo builders make real, loadable transformers objects and a usable sample.

Everything here runs offline on CPU; the slowest part is one `build_demo`
(a 300-step training run), shared by the tests that need it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lossdb import demo
from lossdb.demo import LABELS

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

KINDS = ["wordpiece", "sentencepiece"]
SUBWORD_MARK = {"wordpiece": "##", "sentencepiece": "▁"}
SPECIALS = {"wordpiece": ("[CLS]", "[SEP]"), "sentencepiece": ("<s>", "</s>")}
MODEL_CLASS = {
    "wordpiece": "BertForTokenClassification",
    "sentencepiece": "XLMRobertaForTokenClassification",
}


def iob2_valid(tags: list[str]) -> bool:
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line:
            sentences.append((words, tags))
            words, tags = [], []
            continue
        word, tag = line.split("\t")
        words.append(word)
        tags.append(tag)
    assert not words, "file must end with a blank line"
    return sentences


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def corpus():
    return demo.make_sentences(300, seed=0)


@pytest.fixture(scope="session")
def built(tmp_path_factory, corpus):
    """kind -> directory with a trained tokenizer and a fresh model."""
    root = tmp_path_factory.mktemp("demo-builders")
    out = {}
    for kind in KINDS:
        tok_dir = demo.build_tokenizer(kind, [w for w, _ in corpus], root / f"{kind}-tok", vocab_size=300)
        out[kind] = demo.build_model(tok_dir, root / f"{kind}-model", seed=0)
    return out


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = demo.build_demo(out)
    return out, result


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


def test_import_is_cheap():
    code = "import sys, lossdb.demo; sys.exit(int(any(m in sys.modules for m in ('torch', 'transformers'))))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_make_sentences(corpus):
    assert demo.make_sentences(300, seed=0) == corpus
    assert demo.make_sentences(50, seed=0) == corpus[:50]
    assert demo.make_sentences(50, seed=1) != corpus[:50]
    words = {w for ws, _ in corpus for w in ws}
    entity_lengths = set()
    for ws, tags in corpus:
        assert len(ws) == len(tags) > 0
        assert set(tags) <= set(LABELS)
        assert iob2_valid(tags)
        entity_lengths |= {e - s for s, e, _ in demo._entities(tags)}
    assert {1, 2, 3} <= entity_lengths  # multiword entities
    assert {"Deutsche", "Bahn"} <= words or {"Frankfurt", "am", "Main"} <= words
    assert {",", "."} <= words
    assert any(len(w) > 20 for w in words)  # long compounds
    assert {tag[2:] for _, tags in corpus for tag in tags if tag != "O"} == {"PER", "ORG", "LOC"}


def test_plant_label_errors(corpus):
    before = [(list(w), list(t)) for w, t in corpus]
    noisy, idx = demo.plant_label_errors(corpus, k=12, seed=3)
    assert corpus == before  # input untouched
    assert idx == sorted(set(idx)) and len(idx) == 12
    changed = [i for i, (a, b) in enumerate(zip(corpus, noisy)) if a != b]
    assert changed == idx
    for i in idx:
        (words, old), (new_words, new) = corpus[i], noisy[i]
        assert new_words == words
        assert iob2_valid(new)
        assert set(new) <= set(LABELS)
        assert any(t != "O" for t in old)
        # exactly one whole entity changed: the differing positions form one old entity
        diff = [j for j, (a, b) in enumerate(zip(old, new)) if a != b]
        assert (diff[0], diff[-1] + 1) in {(s, e) for s, e, _ in demo._entities(old)}
    assert demo.plant_label_errors(corpus, k=12, seed=3) == (noisy, idx)
    with pytest.raises(ValueError):
        demo.plant_label_errors(corpus[:3], k=4)


# --------------------------------------------------------------------------
# tokenizers and models
# --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_tokenizer_round_trip(kind, built, corpus):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(built[kind])
    assert tok.is_fast
    assert tok.model_max_length == 128
    first, last = SPECIALS[kind]
    marked = 0
    split_words = 0
    for words, _ in corpus[:100]:
        enc = tok(words, is_split_into_words=True)
        tokens = tok.convert_ids_to_tokens(enc["input_ids"])
        assert tokens[0] == first and tokens[-1] == last
        word_ids = enc.word_ids()
        assert word_ids[0] is None and word_ids[-1] is None
        inner = word_ids[1:-1]
        assert None not in inner
        # every word gets one contiguous, ordered run of pieces
        assert inner == sorted(inner) and sorted(set(inner)) == list(range(len(words)))
        split_words += len(inner) - len(set(inner))
        marked += sum(t.startswith(SUBWORD_MARK[kind]) for t in tokens)
    assert marked > 0 and split_words > 0
    if kind == "wordpiece":
        assert tok.tokenize("Bundesverkehrsministerkonferenz")[1].startswith("##")
    else:
        assert tok.tokenize("Bundesverkehrsministerkonferenz")[0].startswith("▁")


@pytest.mark.parametrize("kind", KINDS)
def test_tokenizer_options_and_determinism(kind, tmp_path, corpus):
    from transformers import AutoTokenizer

    words = [w for w, _ in corpus[:200]]
    a = demo.build_tokenizer(kind, words, tmp_path / "a", vocab_size=250, model_max_length=64)
    b = demo.build_tokenizer(kind, words, tmp_path / "b", vocab_size=250, model_max_length=64)
    assert a == tmp_path / "a"
    assert (a / "tokenizer.json").read_text() == (b / "tokenizer.json").read_text()
    tok = AutoTokenizer.from_pretrained(a)
    assert tok.model_max_length == 64
    assert len(tok) <= 250
    with pytest.raises(ValueError):
        demo.build_tokenizer("bpe", words, tmp_path / "c")


@pytest.mark.parametrize("kind", KINDS)
def test_model_round_trip(kind, built, corpus):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(built[kind])
    model = AutoModelForTokenClassification.from_pretrained(built[kind]).eval()
    assert type(model).__name__ == MODEL_CLASS[kind]
    assert [model.config.id2label[i] for i in range(len(LABELS))] == LABELS
    assert model.config.label2id == {label: i for i, label in enumerate(LABELS)}
    assert model.config.vocab_size == len(tok)
    assert model.config.pad_token_id == tok.pad_token_id
    if kind == "sentencepiece":
        assert model.config.pad_token_id == 1
        assert model.config.max_position_embeddings == tok.model_max_length + 2
    batch = [w for w, _ in corpus[:4]]
    enc = tok(batch, is_split_into_words=True, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits
    assert logits.shape == (4, enc["input_ids"].shape[1], len(LABELS))
    # the longest sequence the tokenizer emits fits the position embeddings
    words = ["Straßenbahnhaltestelle"] * 200
    long = tok(words, is_split_into_words=True, truncation=True, return_tensors="pt")
    assert long["input_ids"].shape[1] == tok.model_max_length
    with torch.no_grad():
        assert torch.isfinite(model(**long).logits).all()


def test_model_is_deterministic(built, tmp_path):
    from safetensors.torch import load_file

    a = demo.build_model(built["sentencepiece"], tmp_path / "a", seed=0)
    b = demo.build_model(built["sentencepiece"], tmp_path / "b", seed=0)
    c = demo.build_model(built["sentencepiece"], tmp_path / "c", seed=1)
    wa, wb, wc = (load_file(d / "model.safetensors") for d in (a, b, c))
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)
    with pytest.raises(ValueError):
        demo.build_model(built["sentencepiece"], tmp_path / "d", max_position_embeddings=128)


def test_train_updates_model_in_place(built, corpus, tmp_path):
    import shutil

    from safetensors.torch import load_file

    model_dir = tmp_path / "m"
    shutil.copytree(built["sentencepiece"], model_dir)
    before = load_file(model_dir / "model.safetensors")
    from transformers.utils import logging

    threads = torch.get_num_threads()
    bars = logging.is_progress_bar_enabled()
    stats = demo.train(model_dir, corpus[:64], steps=8, batch_size=16, seed=0)
    assert torch.get_num_threads() == threads  # set to 1 while training only
    assert logging.is_progress_bar_enabled() == bars
    assert stats["steps"] == 8 and stats["seconds"] >= 0
    assert 0 < stats["final_loss"] < 10
    after = load_file(model_dir / "model.safetensors")
    assert not all(torch.equal(before[k], after[k]) for k in before)


# --------------------------------------------------------------------------
# the demo
# --------------------------------------------------------------------------


def test_build_demo_files(demo_dir):
    out, result = demo_dir
    assert result["model"] == out / "model" and result["data"] == out / "sample.conll"
    sentences = read_conll(result["data"])
    assert len(sentences) == 300
    assert json.loads((out / "planted.json").read_text()) == result["planted"]
    assert len(result["planted"]) == 8
    assert set(result["train"]) == {"steps", "final_loss", "seconds"}
    for words, tags in sentences:
        assert set(tags) <= set(LABELS) and iob2_valid(tags)
    # planted sentences carry different tags than the clean generator gave them
    clean = demo.make_sentences(300, seed=1)
    differ = [i for i, (s, c) in enumerate(zip(sentences, clean)) if s != c]
    assert differ == result["planted"]


def test_label_issue_rankings_find_the_planted_errors(demo_dir, tmp_path):
    """The known corrections (the planted label errors) against lossdb's two rankings, as
    ingest stores them: total loss (the book's) and cleanlab's label quality (lowest first)."""
    import lossdb
    from lossdb.ingest import ingest

    _out, result = demo_dir
    db = tmp_path / "demo.duckdb"
    ingest(str(result["model"]), str(result["data"]), db=str(db), run="demo", progress=False)
    planted = set(result["planted"])
    with lossdb.connect(db) as store:
        for by in ("total_loss", "label_quality"):
            top10 = set(store.top(10, by=by)["seq_id"])
            assert planted <= top10, (by, sorted(planted - top10))


def test_planted_errors_have_the_highest_losses(demo_dir):
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    out, result = demo_dir
    tok = AutoTokenizer.from_pretrained(result["model"])
    model = AutoModelForTokenClassification.from_pretrained(result["model"]).eval()
    sentences = read_conll(result["data"])
    totals: list[float] = []
    for start in range(0, len(sentences), 64):
        chunk = sentences[start : start + 64]
        enc = tok(
            [w for w, _ in chunk],
            is_split_into_words=True,
            padding=True,
            truncation=True,
            return_tensors="pt",
        )
        labels = torch.full(enc["input_ids"].shape, -100)
        for row, (_, tags) in enumerate(chunk):
            previous = None
            for pos, word in enumerate(enc.word_ids(row)):
                if word is not None and word != previous:  # first subword only
                    labels[row, pos] = model.config.label2id[tags[word]]
                previous = word
        with torch.no_grad():
            logits = model(**enc).logits
        losses = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), labels, ignore_index=-100, reduction="none"
        )
        totals += losses.sum(dim=1).tolist()
    ranking = sorted(range(len(totals)), key=lambda i: -totals[i])
    planted = set(result["planted"])
    top10 = ranking[:10]
    assert len(planted & set(top10)) >= 6, (top10, sorted(planted))
    assert ranking[0] in planted


def test_the_demo_run_again_keeps_an_imported_label_version(tmp_path):
    """BENCHMARKS.md's recipe imports the demo's clean copy as a version; `lossdb demo` run
    again must replace its run and keep that version (it used to refuse, after training)."""
    import json

    import lossdb

    first = demo.run_demo(tmp_path / "out")
    clean = tmp_path / "clean.jsonl"
    sentences = demo.make_sentences(300, seed=1)  # the sample before its planted errors
    clean.write_text("".join(json.dumps({"seq_id": i, "words": list(w), "labels": list(t)}) + "\n"
                             for i, (w, t) in enumerate(sentences)))
    with lossdb.connect(first.db, read_only=False) as store:
        store.import_labels(clean, name="clean")
    again = demo.run_demo(tmp_path / "out")
    with lossdb.connect(again.db) as store:
        assert store.label_versions()["version"].tolist() == ["gold", "clean"]
        evaluated = store.evaluate_rankings("clean").to_dict("records")
    assert {r["n_positives"] for r in evaluated} == {len(first.planted)}


def test_the_demo_refuses_before_it_builds_anything(tmp_path, wordpiece_model, conll_file):
    """A file as --out, or a --db whose run 'demo' is another's (the demo would replace it), is
    one line before the build; the other's store is left as it was."""
    from .conftest import run_cli

    afile = tmp_path / "afile"
    afile.write_text("x")
    refused = run_cli("demo", "--out", str(afile))
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"lossdb: error: {afile} is a file, and the demo writes a folder; choose another folder (--out)"]
    from lossdb.ingest import ingest

    theirs = tmp_path / "theirs.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(theirs), run="demo", progress=False)
    before = theirs.read_bytes()
    out = tmp_path / "out"
    refused = run_cli("demo", "--out", str(out), "--db", str(theirs))
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 4 and len(lines) == 1 and "has a run 'demo' that is not this demo's" in lines[0], lines
    assert lines[0].endswith("give the demo another --db, or the --out it was built in")
    assert theirs.read_bytes() == before and not out.exists()
