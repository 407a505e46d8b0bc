"""Properties of ingest, for any words and tags (hypothesis, on the tiny models).

- every word gets exactly one labelled token (its first), in word order;
- the token rows reconstruct the words: grouped by word_index they are each word's own
  tokenization, nothing dropped, nothing reordered; `sequences.words` is the input exactly;
- the sum of a sequence's token losses is its `total_loss`;
- ingesting the same data twice gives identical rows.

Words are drawn from awkward text on purpose: zero-width and combining characters, CJK,
right-to-left scripts, emoji, quotes and semicolons, empty and whitespace-only strings.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lossdb import demo

AWKWARD_WORDS = [
    "", " ", "\u200b", "\u200d", "\ufeff", "\u0301", "e\u0301", "\t", "\u00a0", "\u2028",
    "Köln", "東京", "北京大学", "שלום", "مرحبا", "😀", "👩‍👩‍👧", "🇩🇪",
    "'", '"', ";", "--", "O'Brien", "a;b", "'; DROP TABLE tokens; --", "\\", "$run", "%",
    "Donaudampfschifffahrtsgesellschaft", "##li", "▁Juli", "[CLS]", "<s>", "\x00", "\x1f",
]

words_strategy = st.one_of(
    st.sampled_from(AWKWARD_WORDS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["Angela", "Merkel", "Berlin", "und", "die", "."]),
)
sentence_strategy = st.lists(
    st.tuples(words_strategy, st.sampled_from(demo.LABELS)), min_size=0, max_size=40,
).map(lambda pairs: ([w for w, _ in pairs], [t for _, t in pairs]))
dataset_strategy = st.lists(sentence_strategy, min_size=1, max_size=4)

# Always tried, whatever hypothesis draws: every awkward word in one sentence (long enough to
# need windows on the 16-token model), an empty sentence, and a sentence of one empty word.
EVERY_AWKWARD_WORD = [(AWKWARD_WORDS, [demo.LABELS[i % len(demo.LABELS)] for i in range(len(AWKWARD_WORDS))]),
                      ([], []), ([""], ["B-LOC"])]

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="session")
def models(model_dirs, tmp_path_factory):
    """The two tiny models of conftest, and a wordpiece one whose maximum length is 16 (windows)."""
    root = tmp_path_factory.mktemp("short16")
    corpus = [words for words, _ in demo.make_sentences(400, seed=3)]
    tok = demo.build_tokenizer("wordpiece", corpus, root / "tok", vocab_size=300, model_max_length=16)
    short = demo.build_model(tok, root / "model", kind="wordpiece", seed=1)
    return {"wordpiece": str(model_dirs["wordpiece"]), "sentencepiece": str(model_dirs["sentencepiece"]),
            "wordpiece-16": str(short)}


@pytest.fixture(scope="session")
def tokenizers(models):
    from transformers import AutoTokenizer

    return {name: AutoTokenizer.from_pretrained(path) for name, path in models.items()}


def ingest_jsonl(tmp_path: Path, sentences, model: str, runs=("a",)) -> Path:
    from lossdb.ingest import ingest

    data = tmp_path / "data.jsonl"
    with data.open("w", encoding="utf-8") as f:
        for words, tags in sentences:
            f.write(json.dumps({"tokens": words, "ner_tags": tags}, ensure_ascii=False) + "\n")
    db = tmp_path / "store.duckdb"
    db.unlink(missing_ok=True)
    for run in runs:
        ingest(model, str(data), db=str(db), run=run, progress=False, batch_size=3, chunk_size=2)
    return db


def word_tokens(tokenizer, word: str) -> list[str]:
    """How the tokenizer splits one word (the unknown token for a word it drops, as ingest feeds it)."""
    tokens = tokenizer([word], is_split_into_words=True, add_special_tokens=False).tokens()
    return tokens or tokenizer([tokenizer.unk_token], is_split_into_words=True, add_special_tokens=False).tokens()


@pytest.mark.parametrize("kind", ["wordpiece", "sentencepiece", "wordpiece-16"])
@SETTINGS
@given(sentences=dataset_strategy)
@example(sentences=EVERY_AWKWARD_WORD)
def test_ingest_properties(kind, sentences, models, tokenizers, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prop")
    db = ingest_jsonl(tmp, sentences, models[kind], runs=("a", "b"))
    tokenizer = tokenizers[kind]
    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.execute("SELECT seq_id, words, labels, total_loss, n_tokens, truncated FROM sequences "
                             "WHERE run_id = 'a' ORDER BY seq_id").fetchall()
        names = con.execute("SELECT label_names FROM runs WHERE run_id = 'a'").fetchone()[0]
        codes = dict(con.execute("SELECT seq_id, (label_codes, pred_codes) FROM sequences WHERE run_id = 'a'").fetchall())
        assert [(s[1], s[2]) for s in stored] == [(w, t) for w, t in sentences]  # text round-trips exactly
        assert not any(s[5] for s in stored)  # windows by default: nothing truncated
        for seq_id, words, labels, total_loss, n_tokens, _ in stored:
            rows = con.execute("SELECT position, token, word_index, label, loss, pred FROM tokens "
                               "WHERE run_id = 'a' AND seq_id = ? ORDER BY position", [seq_id]).fetchall()
            assert [r[0] for r in rows] == list(range(n_tokens))
            # every word: exactly one labelled token, its first, carrying the word's label
            labelled = [(r[2], r[3]) for r in rows if r[3] is not None]
            assert labelled == list(enumerate(labels))
            for word in range(len(words)):
                first = next(r for r in rows if r[2] == word)
                assert first[3] == labels[word]
            # the word-level tag codes are the labelled tokens' label and pred, as label_names positions
            assert codes[seq_id] == ([names.index(r[3]) + 1 for r in rows if r[3] is not None],
                                     [names.index(r[5]) + 1 for r in rows if r[3] is not None])
            # the token rows, grouped by word, are each word's tokenization, in order
            indices = [r[2] for r in rows if r[2] is not None]
            assert indices == sorted(indices)
            grouped = [[r[1] for r in rows if r[2] == word] for word in range(len(words))]
            assert grouped == [word_tokens(tokenizer, w) for w in words]
            assert all(r[4] == 0 for r in rows if r[3] is None)  # ignored positions cost nothing
            assert math.isclose(sum(r[4] for r in rows), total_loss, rel_tol=1e-6, abs_tol=1e-6)
        # the view and the top macro agree with the token rows
        view = con.execute("SELECT s.seq_id, s.total_loss, sum(t.loss::DOUBLE) FROM sequence_losses s "
                           "JOIN tokens t USING (run_id, seq_id) WHERE s.run_id = 'a' GROUP BY ALL").fetchall()
        assert all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for _, a, b in view)
        # the same data twice: identical rows
        for table, order in (("tokens", "seq_id, position"), ("sequences", "seq_id")):
            a, b = (con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY {order}",
                                [run]).fetchall() for run in ("a", "b"))
            assert a == b, table
    finally:
        con.close()
