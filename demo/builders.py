"""Tiny real models and a synthetic German NER sample, for the demo and the tests.

Everything built here is a real ``transformers`` object saved to disk and
loadable with ``AutoTokenizer.from_pretrained(dir)`` and
``AutoModelForTokenClassification.from_pretrained(dir)``; nothing needs the
network.  The pieces are:

- :func:`make_sentences`: synthetic, German-flavoured sentences with IOB2 tags
  over the PAN-X label set (:data:`LABELS`);
- :func:`plant_label_errors`: silver-label errors of the kind chapter 4 of
  "Natural Language Processing with Transformers" finds in PAN-X;
- :func:`build_tokenizer`: a WordPiece (BERT-style) or SentencePiece-style
  Unigram (XLM-R-style) tokenizer trained on a corpus with ``tokenizers``;
- :func:`build_model`: a randomly initialised BERT or XLM-R token classifier;
- :func:`train`: a few hundred AdamW steps on CPU;
- :func:`build_demo`: all of the above, the way ``make demo`` needs it.

torch, transformers and tokenizers are imported inside the functions, so
``import lossdb.demo`` stays cheap.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "LABELS",
    "make_sentences",
    "plant_label_errors",
    "build_tokenizer",
    "build_model",
    "train",
    "write_conll",
    "build_demo",
]

#: The PAN-X (WikiANN) label set, in the dataset's ClassLabel order.
LABELS: list[str] = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

Sentence = tuple[list[str], list[str]]

_WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# XLMRobertaTokenizer (transformers 5) rebuilds its Unigram model with unk_id=3,
# so the special pieces must take ids 0..4 in exactly this order (as in XLM-R).
_SENTENCEPIECE_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
_KINDS = ("wordpiece", "sentencepiece")

# --------------------------------------------------------------------------
# Synthetic sentences
# --------------------------------------------------------------------------

_FIRST_NAMES = [
    "Angela", "Olaf", "Helmut", "Konrad", "Clara", "Hannah", "Sophie", "Franz",
    "Steffi", "Boris", "Lise", "Willy", "Heinrich", "Thomas", "Ursula", "Annalena",
    "Jürgen", "Katharina", "Wolfgang", "Brigitte", "Matthias", "Sabine", "Dietrich",
    "Gerhard", "Ingrid",
]
_LAST_NAMES = [
    "Merkel", "Scholz", "Kohl", "Adenauer", "Zetkin", "Arendt", "Scholl", "Beckenbauer",
    "Graf", "Becker", "Meitner", "Brandt", "Heine", "Mann", "Schmidt", "Müller",
    "Schneider", "Fischer", "Weber", "Wagner", "Hoffmann", "Schäfer", "Zimmermann",
    "Schwarzenegger", "Bonhoeffer",
]
# Famous names that do not fit the first/last pattern (multiword, particles).
_FULL_NAMES = [
    "Johann Wolfgang von Goethe",
    "Ludwig van Beethoven",
    "Friedrich Schiller",
    "Albert Einstein",
    "Max Planck",
    "Karl Marx",
    "Wilhelm Conrad Röntgen",
    "Marlene Dietrich",
]
_ORGS = [
    "Deutsche Bahn", "Deutsche Bank", "Siemens", "Volkswagen", "Bayer", "Lufthansa",
    "Commerzbank", "Bundeswehr", "Bundesagentur für Arbeit", "Max-Planck-Gesellschaft",
    "Europäische Union", "Vereinte Nationen", "Süddeutsche Zeitung", "ZDF", "SPD", "CDU",
    "FC Bayern München", "Borussia Dortmund", "Universität Heidelberg",
    "Fraunhofer-Gesellschaft", "Deutscher Fußball-Bund", "Rotes Kreuz", "Telekom",
]
_LOCS = [
    "Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Dresden",
    "Leipzig", "Bayern", "Nordrhein-Westfalen", "Schwarzwald", "Bodensee", "Rhein",
    "Österreich", "Schweiz", "Wien", "Zürich", "Sankt Petersburg", "Halle an der Saale",
    "Mecklenburg-Vorpommern", "Brandenburg an der Havel", "Freiburg im Breisgau",
    "Heidelberg", "Dortmund", "Bremen",
]
_COMPOUNDS = [
    "Bundesverkehrsministerkonferenz", "Donaudampfschifffahrtsgesellschaft",
    "Grundstücksverkehrsgenehmigung", "Kraftfahrzeughaftpflichtversicherung",
    "Einkommensteuererklärung", "Weltmeisterschaftsqualifikation",
    "Straßenbahnhaltestelle", "Bürgermeisterwahl", "Landtagsabgeordneten",
    "Umweltverträglichkeitsprüfung", "Forschungsförderungsprogramm",
    "Rechtsschutzversicherungsgesellschaften",
]
_MONTHS = [
    "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
    "September", "Oktober", "November", "Dezember",
]
_NOUNS = ["Vertrag", "Bericht", "Plan", "Antrag", "Beschluss", "Entwurf"]

# Slots: {PER} {ORG} {LOC} entities; {COMP} compound noun; {MONTH} {YEAR} {DAY} {NUM} {NOUN}.
_TEMPLATES = [
    "{PER} arbeitet seit {YEAR} bei der {ORG} in {LOC} .",
    "Die {ORG} eröffnet im {MONTH} ein neues Büro in {LOC} .",
    "{PER} wurde am {DAY} {MONTH} {YEAR} in {LOC} geboren .",
    "Laut {ORG} wurde die {COMP} in {LOC} verschoben .",
    "Der Bürgermeister von {LOC} , {PER} , kritisierte die {ORG} scharf .",
    "{LOC} liegt nur wenige Kilometer von {LOC} entfernt .",
    "Nach Angaben der {ORG} kostet die {COMP} rund {NUM} Euro .",
    "{PER} und {PER} trafen sich am {DAY} {MONTH} in {LOC} .",
    "Im Jahr {YEAR} zog {PER} von {LOC} nach {LOC} .",
    "Die {COMP} sorgt in {LOC} für Ärger .",
    "Der {NOUN} der {ORG} wurde von {PER} unterzeichnet .",
    "{ORG} und {ORG} vereinbaren eine Zusammenarbeit .",
    "In {LOC} leben etwa {NUM} Menschen .",
    "Am {DAY} {MONTH} sprach {PER} über die {COMP} .",
    "Die Zeitung berichtet , dass {PER} die {ORG} verlässt .",
    "( {LOC} ) – Die {ORG} meldet einen Gewinn von {NUM} Millionen Euro .",
    "Seit {YEAR} ist {PER} Mitglied der {ORG} .",
    "Das Museum in {LOC} zeigt Werke von {PER} .",
    "Wegen der {COMP} fahren heute keine Züge zwischen {LOC} und {LOC} .",
    "Der {NOUN} wurde am {DAY} {MONTH} {YEAR} veröffentlicht .",
    "{PER} : „ Die {ORG} braucht mehr Geld . “",
    "Die Ausstellung über {PER} ist bis {MONTH} in {LOC} zu sehen .",
]

_ENTITY_SLOTS = {"{PER}": "PER", "{ORG}": "ORG", "{LOC}": "LOC"}


def _person(rng: random.Random) -> str:
    if rng.random() < 0.2:
        return rng.choice(_FULL_NAMES)
    return f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"


def _entity_tags(n_words: int, kind: str) -> list[str]:
    return [f"B-{kind}"] + [f"I-{kind}"] * (n_words - 1)


def make_sentences(n: int, *, seed: int = 0) -> list[Sentence]:
    """Generate synthetic German-flavoured NER sentences.

    Sentences are built from templates whose slots are filled with persons,
    organisations and locations (multiword entities included, e.g.
    ``Deutsche Bahn``, ``Frankfurt am Main``, ``Johann Wolfgang von Goethe``),
    long compound nouns that split into several subwords, dates, numbers and
    punctuation.

    Parameters
    ----------
    n : int
        Number of sentences.
    seed : int, optional
        Seed of the private random generator; the output is a pure function
        of ``(n, seed)``, and a smaller ``n`` gives a prefix of a larger one.

    Returns
    -------
    list of (list of str, list of str)
        ``(words, tags)`` pairs with IOB2 tags from :data:`LABELS`.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    out: list[Sentence] = []
    for _ in range(n):
        template = rng.choice(_TEMPLATES)
        words: list[str] = []
        tags: list[str] = []
        used: set[str] = set()
        for slot in template.split():
            if slot in _ENTITY_SLOTS:
                kind = _ENTITY_SLOTS[slot]
                text = ""
                while not text or text in used:  # no "von Berlin nach Berlin"
                    if kind == "PER":
                        text = _person(rng)
                    elif kind == "ORG":
                        text = rng.choice(_ORGS)
                    else:
                        text = rng.choice(_LOCS)
                used.add(text)
                parts = text.split()
                words += parts
                tags += _entity_tags(len(parts), kind)
                continue
            if slot == "{COMP}":
                word = rng.choice(_COMPOUNDS)
            elif slot == "{MONTH}":
                word = rng.choice(_MONTHS)
            elif slot == "{YEAR}":
                word = str(rng.randint(1890, 2024))
            elif slot == "{DAY}":
                word = f"{rng.randint(1, 28)}."
            elif slot == "{NUM}":
                word = f"{rng.randint(2, 950)}.{rng.randint(0, 999):03d}"
            elif slot == "{NOUN}":
                word = rng.choice(_NOUNS)
            else:
                word = slot
            words.append(word)
            tags.append("O")
        out.append((words, tags))
    return out


# --------------------------------------------------------------------------
# Planted silver-label errors
# --------------------------------------------------------------------------

# (entity type found, what it is relabelled as; None = tagged O).  The kinds
# chapter 4 of the book finds in PAN-X: organisations labelled as persons,
# locations left untagged, persons labelled as locations, ...
_CORRUPTIONS: list[tuple[str, str | None]] = [
    ("ORG", "PER"),
    ("LOC", None),
    ("PER", "LOC"),
    ("ORG", "LOC"),
    ("PER", None),
    ("LOC", "ORG"),
]


def _entities(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Spans ``(start, end_exclusive, type)`` of the IOB2 entities in ``tags``."""
    from lossdb.queries.tags import entities  # the tag grammar: seqeval's default mode

    return entities(tags)


def plant_label_errors(
    sentences: Sequence[Sentence], *, k: int, seed: int = 0
) -> tuple[list[Sentence], list[int]]:
    """Copy ``sentences`` with ``k`` planted silver-label errors.

    Each corrupted sentence gets one whole entity (the longest of the chosen
    type) relabelled, keeping the tags valid IOB2: an organisation tagged as
    a person (``B-ORG/I-ORG`` -> ``B-PER/I-PER``), a location tagged ``O``, a
    person tagged as a location, an organisation tagged as a location, a
    person tagged ``O``, a location tagged as an organisation (the kinds
    cycle in that order, falling back to one the sentence allows).

    Parameters
    ----------
    sentences : sequence of (words, tags)
        The clean sentences; not modified.
    k : int
        Number of sentences to corrupt (one entity each).
    seed : int, optional
        Seed for choosing sentences and entities.

    Returns
    -------
    new_sentences : list of (list of str, list of str)
        A copy of ``sentences`` with the errors planted.
    indices : list of int
        Sorted indices of the corrupted sentences.

    Raises
    ------
    ValueError
        If fewer than ``k`` sentences contain an entity.
    """
    new = [(list(words), list(tags)) for words, tags in sentences]
    candidates = [i for i, (_, tags) in enumerate(new) if _entities(tags)]
    if k < 0 or k > len(candidates):
        raise ValueError(f"cannot plant {k} errors: {len(candidates)} sentences contain an entity")
    rng = random.Random(seed)
    chosen = sorted(rng.sample(candidates, k))
    for n, i in enumerate(chosen):
        tags = new[i][1]
        spans = _entities(tags)
        for j in range(len(_CORRUPTIONS)):
            source, target = _CORRUPTIONS[(n + j) % len(_CORRUPTIONS)]
            matching = [s for s in spans if s[2] == source]
            if matching:
                break
        # The longest such entity (ties broken at random): a whole multiword
        # entity relabelled is the typical silver-label error and the clearest.
        longest = max(e - b for b, e, _ in matching)
        start, end, _ = rng.choice([s for s in matching if s[1] - s[0] == longest])
        if target is None:
            tags[start:end] = ["O"] * (end - start)
        else:
            tags[start:end] = _entity_tags(end - start, target)
    return new, chosen


def write_conll(sentences: Sequence[Sentence], path: str | Path) -> Path:
    """Write sentences as CoNLL: ``token<TAB>tag`` a line, a blank line between sentences.

    Parameters
    ----------
    sentences : sequence of (words, tags)
    path : str or Path

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    with path.open("w", encoding="utf-8") as f:
        for words, tags in sentences:
            for word, tag in zip(words, tags, strict=True):
                f.write(f"{word}\t{tag}\n")
            f.write("\n")
    return path


# --------------------------------------------------------------------------
# Tokenizers
# --------------------------------------------------------------------------


def _transformers_major() -> int:
    import transformers

    return int(transformers.__version__.split(".")[0])


# Continuation characters are trained as private-use code points (see
# _train_wordpiece_vocab); the Supplementary Private Use Area-A holds them all.
_CONTINUATION_BASE = 0xF0000


def _train_wordpiece_vocab(texts: Sequence[str], vocab_size: int) -> dict[str, int]:
    """Learn a BERT-style WordPiece vocabulary, deterministically.

    ``tokenizers``' WordPieceTrainer gives a different vocabulary from run to
    run on the same data (huggingface/tokenizers#1794: the ``##`` pieces get
    ids in hash-map order, and those ids break ties between merges).  Its
    plain BPE trainer is deterministic, so this runs that instead, on words
    whose non-initial characters are mapped to private-use code points: the
    same learning problem, with ``##x`` spelled as one character.  Pieces are
    mapped back (a piece starting with such a character becomes ``##...``) and
    every character gets both its word-initial and its ``##`` form, as in
    BERT's vocabularies, so no seen character turns a word into ``[UNK]``.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: list[str] = []
    for text in texts:
        pieces = pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
        words += [word for word, _ in pieces]
    initial = {word[0] for word in words}
    inner = {char for word in words for char in word[1:]}
    chars = sorted(initial | inner)
    if max((ord(c) for c in chars), default=0) > 0xFFFF:
        raise ValueError("wordpiece training supports characters of the Basic Multilingual Plane only")
    # Room for the forms of each character the corpus does not show.
    missing = len(chars) - len(initial) + len(chars) - len(inner)
    shift = {ord(c): chr(_CONTINUATION_BASE + ord(c)) for c in inner}
    encoded = [word[0] + word[1:].translate(shift) for word in words]

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    trainer = trainers.BpeTrainer(
        vocab_size=max(vocab_size - missing, len(_WORDPIECE_SPECIALS) + 1),
        special_tokens=_WORDPIECE_SPECIALS,
        show_progress=False,
    )
    backend.train_from_iterator(encoded, trainer)

    def decode(piece: str) -> str:
        if piece in _WORDPIECE_SPECIALS:
            return piece
        continuation = ord(piece[0]) >= _CONTINUATION_BASE
        plain = "".join(chr(ord(c) % _CONTINUATION_BASE) for c in piece)
        return "##" + plain if continuation else plain

    by_id = sorted(backend.get_vocab().items(), key=lambda item: item[1])
    pieces = list(dict.fromkeys(decode(piece) for piece, _ in by_id))
    known = set(pieces)
    pieces += [form for c in chars for form in (c, "##" + c) if form not in known]
    return {piece: i for i, piece in enumerate(pieces)}


def _train_unigram_vocab(texts: Sequence[str], vocab_size: int) -> list[tuple[str, float]]:
    """Learn an XLM-R-style Unigram vocabulary ``[(piece, log-prob), ...]``, deterministically.

    ``tokenizers``' UnigramTrainer learns the same pieces every run, but the
    pieces it re-adds at the end (pruned characters the model still needs)
    get scores ``min - 0.0001 * k`` in hash-set order, and other scores differ
    in the last bits.  Canonical form: that trailing run shares one score and
    is sorted, every score is rounded to 8 decimals.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    backend = Tokenizer(models.Unigram())
    # The pre-tokenizer XLMRobertaTokenizer builds; it has no normalizer unless
    # it comes with SentencePiece's precompiled character map.
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
        ]
    )
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=_SENTENCEPIECE_SPECIALS,
        unk_token="<unk>",
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer)
    vocab = [(piece, float(score)) for piece, score in json.loads(backend.to_str())["model"]["vocab"]]
    n_special = len(_SENTENCEPIECE_SPECIALS)
    if [piece for piece, _ in vocab[:n_special]] != _SENTENCEPIECE_SPECIALS:
        raise RuntimeError("Unigram trainer did not put the special tokens first")
    specials, pieces = vocab[:n_special], vocab[n_special:]
    # The trailing run of pieces scored at most 0.0001 apart.
    start = len(pieces) - 1
    while start > 0 and -1e-9 <= pieces[start - 1][1] - pieces[start][1] <= 1.001e-4:
        start -= 1
    if len(pieces) - start > 1:
        shared = pieces[start][1]  # min - 0.0001, whichever piece comes first
        pieces[start:] = sorted((piece, shared) for piece, _ in pieces[start:])
    pieces = [(piece, round(score, 8)) for piece, score in pieces]
    pieces.sort(key=lambda item: (-item[1], item[0]))
    return specials + pieces


def build_tokenizer(
    kind: str,
    corpus: Sequence[Sequence[str]],
    out_dir: str | Path,
    *,
    vocab_size: int = 400,
    model_max_length: int = 128,
) -> Path:
    """Train a small fast tokenizer on ``corpus`` and save it with ``save_pretrained``.

    Training is deterministic: the same corpus gives the same vocabulary.

    Parameters
    ----------
    kind : {"wordpiece", "sentencepiece"}
        ``"wordpiece"``: BERT style (lower-cased, accents kept, ``##``
        continuation pieces, ``[CLS] ... [SEP]``, ``[PAD] [UNK] [MASK]``),
        wrapped in ``BertTokenizer(Fast)``.  ``"sentencepiece"``: XLM-R style
        (a ``tokenizers`` Unigram model behind a Metaspace pre-tokenizer, so
        word-initial pieces print with ``▁``; ``<s> ... </s>``, ``<pad> <unk>
        <mask>``), wrapped in ``XLMRobertaTokenizer(Fast)``.
    corpus : sequence of sequence of str
        Sentences as lists of words.
    out_dir : str or Path
        Directory to save to (created if missing).
    vocab_size : int, optional
        Target vocabulary size, special tokens included.  Small corpora may
        give fewer pieces.
    model_max_length : int, optional
        Saved as ``model_max_length`` in the tokenizer config.

    Returns
    -------
    Path
        ``out_dir``; ``AutoTokenizer.from_pretrained(out_dir)`` loads it back
        as a fast tokenizer.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = [" ".join(words) for words in corpus]
    # transformers 5's BertTokenizer / XLMRobertaTokenizer build their whole
    # pipeline (normalizer, pre-tokenizer, post-processor) around a vocabulary,
    # on construction and again on every from_pretrained; transformers 4 takes
    # a ready tokenizers.Tokenizer.
    v5 = _transformers_major() >= 5

    if kind == "wordpiece":
        from transformers import BertTokenizerFast  # = BertTokenizer in transformers 5

        vocab = _train_wordpiece_vocab(texts, vocab_size)
        options: dict[str, Any] = dict(
            do_lower_case=True, strip_accents=False, model_max_length=model_max_length
        )
        if v5:
            tok = BertTokenizerFast(vocab=vocab, **options)
        else:  # pragma: no cover - transformers 4
            from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

            backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
            backend.normalizer = normalizers.BertNormalizer(strip_accents=False, lowercase=True)
            backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
            backend.decoder = decoders.WordPiece(prefix="##")
            backend.post_processor = processors.BertProcessing(
                ("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"])
            )
            tok = BertTokenizerFast(tokenizer_object=backend, **options)
    else:
        from transformers import XLMRobertaTokenizerFast  # = XLMRobertaTokenizer in transformers 5

        pieces = _train_unigram_vocab(texts, vocab_size)
        options = dict(model_max_length=model_max_length)
        if v5:
            tok = XLMRobertaTokenizerFast(vocab=pieces, **options)
        else:  # pragma: no cover - transformers 4
            from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

            backend = Tokenizer(models.Unigram(pieces, unk_id=3))
            backend.pre_tokenizer = pre_tokenizers.Sequence(
                [
                    pre_tokenizers.WhitespaceSplit(),
                    pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always"),
                ]
            )
            backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
            backend.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
            tok = XLMRobertaTokenizerFast(tokenizer_object=backend, **options)

    tok.save_pretrained(out_dir)
    return out_dir


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """Silence transformers' "Loading weights" / "Writing model shards" bars, then restore."""
    from transformers.utils import logging

    enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            logging.enable_progress_bar()


def _tokenizer_kind(tokenizer: Any) -> str:
    name = type(tokenizer).__name__
    if name.startswith("Bert"):
        return "wordpiece"
    if name.startswith("XLMRoberta"):
        return "sentencepiece"
    raise ValueError(f"cannot tell the model kind from tokenizer class {name}; pass kind=")


def build_model(
    tokenizer_dir: str | Path,
    out_dir: str | Path,
    *,
    labels: Sequence[str] = LABELS,
    kind: str | None = None,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    max_position_embeddings: int | None = None,
    dropout: float = 0.1,
) -> Path:
    """Build a randomly initialised token classifier and save it with its tokenizer.

    Parameters
    ----------
    tokenizer_dir : str or Path
        A directory written by :func:`build_tokenizer`.
    out_dir : str or Path
        Where to save model and tokenizer (may equal ``tokenizer_dir``).
    labels : sequence of str, optional
        Label names; ``config.id2label`` / ``label2id`` follow this order.
    kind : {"wordpiece", "sentencepiece"}, optional
        ``"wordpiece"`` gives ``BertForTokenClassification``,
        ``"sentencepiece"`` ``XLMRobertaForTokenClassification``.  By default
        it follows the tokenizer's class.
    seed : int, optional
        ``torch.manual_seed`` before initialisation; same seed, same weights.
    hidden_size, layers, heads : int, optional
        Model size (intermediate size is ``4 * hidden_size``).
    max_position_embeddings : int, optional
        Defaults to the tokenizer's ``model_max_length`` (512 where it has
        none) for BERT and to ``model_max_length + 2`` for XLM-R (whose
        positions start after the padding index, ``pad_token_id=1``).  A
        smaller value is an error.
    dropout : float, optional
        Hidden and attention dropout (BERT's default 0.1).

    Returns
    -------
    Path
        ``out_dir``.
    """
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    kind = kind or _tokenizer_kind(tokenizer)
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, got {kind!r}")
    labels = list(labels)
    offset = 2 if kind == "sentencepiece" else 0
    max_length = int(tokenizer.model_max_length)
    if max_length > 1_000_000:  # transformers' "no limit" placeholder
        max_length = 512
    needed = max_length + offset
    if max_position_embeddings is None:
        max_position_embeddings = needed
    elif max_position_embeddings < needed:
        raise ValueError(
            f"max_position_embeddings={max_position_embeddings} is too small for "
            f"model_max_length={max_length} (need {needed})"
        )
    common: dict[str, Any] = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max_position_embeddings,
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        pad_token_id=tokenizer.pad_token_id,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )
    if kind == "wordpiece":
        from transformers import BertConfig as Config
        from transformers import BertForTokenClassification as Model
    else:
        from transformers import XLMRobertaConfig as Config
        from transformers import XLMRobertaForTokenClassification as Model

        if tokenizer.pad_token_id != 1:
            raise ValueError(f"XLM-R needs pad_token_id=1, tokenizer has {tokenizer.pad_token_id}")
        common.update(
            type_vocab_size=1,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    torch.manual_seed(seed)
    model = Model(Config(**common))
    out_dir = Path(out_dir)
    with _no_progress_bars():
        model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _encode(tokenizer: Any, sentences: Sequence[Sentence], label2id: dict[str, int]) -> list[dict]:
    """Tokenize and align labels the book's way: first subword gets the word's label."""
    encoded = []
    for words, tags in sentences:
        enc = tokenizer(list(words), is_split_into_words=True, truncation=True)
        labels = []
        previous = None
        for word_id in enc.word_ids():
            if word_id is None or word_id == previous:
                labels.append(-100)
            else:
                labels.append(label2id[tags[word_id]])
            previous = word_id
        item = {key: list(value) for key, value in enc.items()}
        item["labels"] = labels
        encoded.append(item)
    return encoded


def _collate(items: Sequence[dict], pad_token_id: int) -> dict:
    import torch

    width = max(len(item["input_ids"]) for item in items)
    batch = {}
    for key in items[0]:
        fill = {"input_ids": pad_token_id, "labels": -100}.get(key, 0)
        batch[key] = torch.tensor(
            [item[key] + [fill] * (width - len(item[key])) for item in items], dtype=torch.long
        )
    return batch


def train(
    model_dir: str | Path,
    sentences: Sequence[Sentence],
    *,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    threads: int | None = 1,
) -> dict:
    """Fine-tune the model in ``model_dir`` in place on CPU.

    Labels are aligned as in the book (the first subword of a word gets its
    label; later subwords and special tokens get -100).  AdamW with a linear
    decay of the learning rate to zero; batches are drawn by a generator
    seeded with ``seed`` after ``torch.manual_seed(seed)``, so a run is
    reproducible.

    Parameters
    ----------
    model_dir : str or Path
        A directory written by :func:`build_model`; model and tokenizer are
        saved back into it.
    sentences : sequence of (words, tags)
        Training data; tags must be among the model's ``label2id``.
    steps : int, optional
        Optimiser steps.
    batch_size : int, optional
    lr : float, optional
        Peak learning rate.
    seed : int, optional
    threads : int or None, optional
        ``torch.set_num_threads`` while training, restored afterwards.  The
        model is so small that intra-op parallelism only costs: with two
        threads on a busy two-core machine a step is about ten times slower
        than with one.  ``None`` leaves torch's setting alone.

    Returns
    -------
    dict
        ``{"steps": int, "final_loss": float, "seconds": float}``, where
        ``final_loss`` is the mean training loss over the last 10 steps.
    """
    import torch

    if not sentences:
        raise ValueError("no training sentences")
    started = time.perf_counter()
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        losses = _train_loop(model_dir, sentences, steps, batch_size, lr, seed)
    finally:
        torch.set_num_threads(previous_threads)
    tail = losses[-10:]
    return {
        "steps": steps,
        "final_loss": sum(tail) / len(tail) if tail else float("nan"),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _train_loop(
    model_dir: str | Path,
    sentences: Sequence[Sentence],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> list[float]:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with _no_progress_bars():
        model = AutoModelForTokenClassification.from_pretrained(model_dir)
    data = _encode(tokenizer, sentences, model.config.label2id)
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, 1.0 - step / max(1, steps))
    )
    model.train()
    losses: list[float] = []
    order = torch.randperm(len(data), generator=generator).tolist()
    cursor = 0
    for _ in range(steps):
        if cursor + batch_size > len(order):
            order = torch.randperm(len(data), generator=generator).tolist()
            cursor = 0
        batch = _collate([data[i] for i in order[cursor : cursor + batch_size]], tokenizer.pad_token_id)
        cursor += batch_size
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
    model.eval()
    with _no_progress_bars():
        model.save_pretrained(model_dir)
    return losses


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------


def build_demo(
    out_dir: str | Path,
    *,
    n_train: int = 2000,
    n_eval: int = 300,
    planted: int = 8,
    seed: int = 0,
) -> dict:
    """Build everything ``make demo`` needs in ``out_dir``.

    - ``out_dir/model``: a WordPiece tokenizer trained on the training
      sentences and a tiny BERT token classifier trained on them (clean);
    - ``out_dir/sample.conll``: ``n_eval`` other sentences with ``planted``
      silver-label errors (:func:`plant_label_errors`), one ``token<TAB>tag``
      a line, a blank line between sentences;
    - ``out_dir/planted.json``: the 0-based indices, in file order, of the
      corrupted sentences.

    Scored with the model, the planted sentences have the highest total
    (summed token cross-entropy) losses, so they rank at the top.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing; existing files in it are overwritten.
    n_train, n_eval : int, optional
        Number of training and evaluation sentences.
    planted : int, optional
        Number of evaluation sentences to corrupt.
    seed : int, optional
        Seed for data, model and training.

    Returns
    -------
    dict
        ``{"model": Path, "data": Path, "planted": list[int], "train": dict}``
        (``"train"`` is what :func:`train` returned).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Separate seeds: evaluation sentences are drawn independently of training ones.
    train_sentences = make_sentences(n_train, seed=2 * seed)
    eval_sentences = make_sentences(n_eval, seed=2 * seed + 1)
    noisy, planted_idx = plant_label_errors(eval_sentences, k=planted, seed=seed)

    model_dir = out_dir / "model"
    build_tokenizer("wordpiece", [w for w, _ in train_sentences], model_dir, vocab_size=600)
    # No dropout: on clean synthetic data it only slows a 300-step run down,
    # and a confident model makes the planted errors stand out.
    build_model(model_dir, model_dir, seed=seed, hidden_size=32, layers=2, heads=2, dropout=0.0)
    stats = train(model_dir, train_sentences, steps=300, batch_size=32, lr=5e-3, seed=seed)

    data = write_conll(noisy, out_dir / "sample.conll")
    (out_dir / "planted.json").write_text(json.dumps(planted_idx) + "\n", encoding="utf-8")
    return {"model": model_dir, "data": data, "planted": planted_idx, "train": stats}
