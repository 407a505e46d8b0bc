"""Subword alignment and windows: from words + word labels to what the model sees.

The book's rule: the first subword of each word carries the word's label; later
subwords and special tokens are ignored (label -100, loss 0). A sequence longer
than the model's maximum length is either split into overlapping windows (each
token is scored in the window where it has the most context on both sides) or
truncated and flagged; it is never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossdb.errors import InputError

IGNORE = -100


@dataclass
class Encoded:
    """One sequence, tokenized. Arrays are over token positions, special tokens included."""

    input_ids: np.ndarray  # int64
    tokens: list[str]
    word_index: np.ndarray  # int32, -1 for special tokens
    label_ids: np.ndarray  # int64, IGNORE where ignored
    n_prefix: int  # special tokens before the first word ([CLS], <s>)
    n_suffix: int  # special tokens after the last word ([SEP], </s>)
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True)
class Window:
    """A slice of one sequence that fits the model: which positions it feeds and which it owns."""

    seq: int  # index of the sequence in its chunk
    input_ids: np.ndarray  # what the model is fed (special tokens around a content slice)
    positions: np.ndarray  # full-sequence position of each input row
    owned: np.ndarray  # bool per input row: this window's scores are the ones kept


def require_word_alignment(tokenizer) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise InputError(
            f"the tokenizer ({type(tokenizer).__name__}) is a slow tokenizer without word alignment",
            "use a model folder with a fast tokenizer (tokenizer.json); lossdb needs word_ids() to align labels",
        )


def encode(tokenizer, words_batch: list[list[str]], word_labels: list[list[int]]) -> list[Encoded]:
    """Tokenize whole sequences (no truncation) and align word labels to first subwords.

    A word the tokenizer turns into no token at all (a lone zero-width space, say) would
    lose its label; it is fed to the model as the unknown token instead.
    """
    batch = tokenizer(words_batch, is_split_into_words=True, add_special_tokens=True, truncation=False)
    encoded = []
    for i, (words, labels) in enumerate(zip(words_batch, word_labels)):
        word_ids = batch.word_ids(i)
        if len({w for w in word_ids if w is not None}) < len(words):
            seen = set(word_ids)
            words = [w if j in seen else tokenizer.unk_token for j, w in enumerate(words)]
            single = tokenizer(words, is_split_into_words=True, add_special_tokens=True, truncation=False)
            ids, tokens, word_ids = single["input_ids"], single.tokens(), single.word_ids()
        else:
            ids, tokens = batch["input_ids"][i], batch.tokens(i)
        encoded.append(_align(ids, tokens, word_ids, labels))
    return encoded


def _align(ids, tokens, word_ids, labels) -> Encoded:
    word_index = np.array([-1 if w is None else w for w in word_ids], dtype=np.int32)
    previous = np.empty_like(word_index)
    previous[0:1], previous[1:] = -1, word_index[:-1]
    first_subword = (word_index >= 0) & (word_index != previous)
    label_ids = np.full(len(ids), IGNORE, dtype=np.int64)
    label_ids[first_subword] = np.asarray(labels, dtype=np.int64)[word_index[first_subword]]
    content = np.flatnonzero(word_index >= 0)
    n_prefix = int(content[0]) if len(content) else len(ids)
    n_suffix = int(len(ids) - 1 - content[-1]) if len(content) else 0
    return Encoded(np.asarray(ids, dtype=np.int64), list(tokens), word_index, label_ids, n_prefix, n_suffix)


def truncate(seq: Encoded, max_length: int) -> Encoded:
    """Keep the first max_length tokens (special tokens kept at both ends), flagged truncated."""
    if len(seq) <= max_length:
        return seq
    keep = np.r_[0 : max_length - seq.n_suffix, len(seq) - seq.n_suffix : len(seq)]
    return Encoded(seq.input_ids[keep], [seq.tokens[k] for k in keep], seq.word_index[keep],
                   seq.label_ids[keep], seq.n_prefix, seq.n_suffix, truncated=True)


def windows(seq: Encoded, seq_index: int, max_length: int, stride: int | None = None) -> list[Window]:
    """Cut a sequence into windows of at most max_length tokens.

    Content windows overlap by `stride` tokens (default: half a window). Every content token
    is owned by the window where its distance to the nearer window edge is largest; the
    leading special tokens by the first window, the trailing ones by the last.
    """
    n = len(seq)
    if n <= max_length:
        return [Window(seq_index, seq.input_ids, np.arange(n), np.ones(n, dtype=bool))]
    pre, suf = seq.n_prefix, seq.n_suffix
    width = max_length - pre - suf
    if width < 2:
        raise InputError(f"max length {max_length} leaves no room for tokens", "raise --max-length")
    overlap = width // 2 if stride is None else min(max(stride, 0), width - 1)
    content = n - pre - suf
    step = width - overlap
    starts = list(range(0, content - width, step)) + [content - width]
    j = np.arange(content)[:, None]
    s = np.asarray(starts)[None, :]
    inside = (j >= s) & (j < s + width)
    margin = np.where(inside, np.minimum(j - s, s + width - 1 - j), -1)
    owner = margin.argmax(axis=1)  # first window wins ties
    result = []
    last = len(starts) - 1
    for w, start in enumerate(starts):
        content_positions = np.arange(pre + start, pre + start + width)
        positions = np.r_[np.arange(pre), content_positions, np.arange(n - suf, n)]
        owned = np.r_[np.full(pre, w == 0), owner[start : start + width] == w, np.full(suf, w == last)]
        result.append(Window(seq_index, seq.input_ids[positions], positions, owned))
    return result
