"""The tag grammar: which entities a list of tags holds, as seqeval 1.2 reads them. Every
decoder in lossdb takes its rules from here.

Two modes, seqeval's:

- ``"default"``: seqeval's default mode, conlleval's chunk rules (``get_entities``): a chunk
  starts at a B- or S- tag, at an I- or E- tag after O, E- or S-, and at any tag whose type
  differs from the tag before it; it ends where the next tag does not continue it. It reads
  any scheme, and ill-formed runs such as ``O I-PER`` still make entities. A tag is read as
  its first character (the chunk tag) and the text after the next '-' (the type): a tag
  without a prefix, such as the IO scheme's bare ``PER``, reads as chunk tag ``P`` of type
  ``ER``, as seqeval reads it (seqeval has no IO scheme). The scheme plays no part.
- ``"strict"``: seqeval's strict mode (``mode="strict", scheme=...``) for the scheme named
  (SCHEMES; IOB2 unless told): an entity is what the scheme's start, inside and end patterns
  make of the tags; tags that break them belong to no entity. A tag whose prefix the scheme
  does not allow is an error, as in seqeval.

Each list of tags is one sequence, decoded on its own. (seqeval decodes a list of sequences
in default mode as one list with an O between them, so a tag without a type, such as a bare
``X``, can end a chunk whose start seqeval carried over from an earlier sequence; lossdb
starts such a chunk at its own sequence, as seqeval does for that sequence alone.)

Who reads the rules here:

- ``entities()``: one list of tags (label versions' diffs, surface forms, buckets, the Label
  Studio export, the demo);
- lossdb.queries.entities builds its lookup tables over a run's tag codes from
  ``chunk_parts``, ``chunk_start``, ``chunk_end``, ``strict_parts`` and ``Scheme.named()``'s
  patterns, and decodes whole runs vectorised;
- sql/schema/200-230 hold the same rules as SQL macros for ad-hoc queries; tests/test_tags.py
  checks all three against seqeval and each other.

Precision, recall and F1 from entity counts are here too (``scores``): seqeval's.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from lossdb.errors import UsageError

MODES = ("default", "strict")
SCHEMES = ("IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU")
ALIASES = {"BIOES": "IOBES"}
DEFAULT_SCHEME = "IOB2"

Span = tuple[int, int, str]  # [start, end) word indices and the entity type

OUTSIDE = "O"


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(f"unknown entity mode {mode!r}",
                         "choose default (seqeval's default: conlleval's lenient chunks) or strict "
                         "(seqeval's strict mode, for one scheme)", parameter="mode")
    return mode


def check_scheme(scheme: str) -> str:
    """The scheme's name as SCHEMES spells it ('bioes' -> 'IOBES'), else a UsageError."""
    name = scheme.upper() if isinstance(scheme, str) else scheme
    name = ALIASES.get(name, name)
    if name not in SCHEMES:
        raise UsageError(f"unknown tag scheme {scheme!r}", f"choose one of {', '.join(SCHEMES)} (BIOES is IOBES)",
                         parameter="scheme")
    return name


# --- default mode: conlleval's chunks (seqeval.metrics.sequence_labeling) --------------------------


def chunk_parts(tag: str) -> tuple[str, str]:
    """(chunk tag, type) as seqeval's default mode reads a tag: 'B-PER' -> ('B', 'PER'),
    'O' -> ('O', '_'), 'B-MISC-X' -> ('B', 'MISC-X'), 'PER' -> ('P', 'ER')."""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def chunk_start(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval's start_of_chunk: does a chunk start at the current tag?"""
    return (tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag not in ("O", ".") and prev_type != type_))


def chunk_end(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    """seqeval's end_of_chunk: does the chunk of the previous tag end before the current one?"""
    return (prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag not in ("O", ".") and prev_type != type_))


def _chunks(tags: Sequence[str]) -> list[Span]:
    spans: list[Span] = []
    prev_tag, prev_type, begin = "O", "", 0  # seqeval's start: no type, so a first tag 'X' starts a chunk
    for i, tag in enumerate([*tags, OUTSIDE]):
        chunk, type_ = chunk_parts(tag)
        if chunk_end(prev_tag, chunk, prev_type, type_):
            spans.append((begin, i, prev_type))
        if chunk_start(prev_tag, chunk, prev_type, type_):
            begin = i
        prev_tag, prev_type = chunk, type_
    return spans


# --- strict mode: a scheme's patterns (seqeval.scheme) ------------------------------------------------

ANY = "IOBESUL"  # seqeval's Prefix.ANY: every prefix it knows


@dataclass(frozen=True)
class Scheme:
    """A scheme as seqeval.scheme defines it: the prefixes it allows, and its patterns
    (previous prefixes, current prefixes, 'any' | 'same' | 'diff' type) for a tag that starts
    an entity, continues one, or ends the one before it."""

    name: str
    allowed: str
    starts: tuple[tuple[str, str, str], ...]
    insides: tuple[tuple[str, str, str], ...]
    ends: tuple[tuple[str, str, str], ...]

    @staticmethod
    def named(name: str = DEFAULT_SCHEME) -> "Scheme":
        """The scheme `name` (one of SCHEMES, or an alias such as BIOES)."""
        return _SCHEMES[check_scheme(name)]

    def allows(self, prefix: str) -> bool:
        return len(prefix) == 1 and prefix in self.allowed

    @staticmethod
    def _matches(patterns, prev: tuple[str, str], tag: tuple[str, str]) -> bool:
        return any(prev[0] in before and tag[0] in now
                   and (same == "any" or (same == "same") == (prev[1] == tag[1]))
                   for before, now, same in patterns)

    def is_start(self, prev: tuple[str, str], tag: tuple[str, str]) -> bool:
        """Does an entity start at `tag` ((prefix, type), as strict_parts reads it) after `prev`?"""
        return self._matches(self.starts, prev, tag)

    def is_inside(self, prev: tuple[str, str], tag: tuple[str, str]) -> bool:
        """Does `tag` continue the entity that `prev` is in?"""
        return self._matches(self.insides, prev, tag)

    def is_end(self, prev: tuple[str, str], tag: tuple[str, str]) -> bool:
        """Does the entity that ends at `prev` end well before `tag` (else it is no entity)?"""
        return self._matches(self.ends, prev, tag)


_SCHEMES = {s.name: s for s in (
    Scheme("IOB1", "IOB",
           starts=(("O", "I", "any"), ("I", "I", "diff"), ("B", "I", "any"), ("I", "B", "same"), ("B", "B", "same")),
           insides=(("B", "I", "same"), ("I", "I", "same")),
           ends=(("I", "I", "diff"), ("I", "O", "any"), ("I", "B", "any"), ("B", "O", "any"), ("B", "I", "diff"),
                 ("B", "B", "same"))),
    Scheme("IOE1", "IOE",
           starts=(("O", "I", "any"), ("I", "I", "diff"), ("E", "I", "any"), ("E", "E", "same")),
           insides=(("I", "I", "same"), ("I", "E", "same")),
           ends=(("I", "I", "diff"), ("I", "O", "any"), ("I", "E", "diff"), ("E", "I", "same"), ("E", "E", "same"))),
    Scheme("IOB2", "IOB",
           starts=((ANY, "B", "any"),),
           insides=(("B", "I", "same"), ("I", "I", "same")),
           ends=(("I", "O", "any"), ("I", "I", "diff"), ("I", "B", "any"), ("B", "O", "any"), ("B", "I", "diff"),
                 ("B", "B", "any"))),
    Scheme("IOE2", "IOE",
           starts=(("O", "I", "any"), ("O", "E", "any"), ("E", "I", "any"), ("E", "E", "any"), ("I", "I", "diff"),
                   ("I", "E", "diff")),
           insides=(("I", "E", "same"), ("I", "I", "same")),
           ends=(("E", ANY, "any"),)),
    Scheme("IOBES", "IOBES",
           starts=((ANY, "B", "any"), (ANY, "S", "any")),
           insides=(("B", "I", "same"), ("B", "E", "same"), ("I", "I", "same"), ("I", "E", "same")),
           ends=(("S", ANY, "any"), ("E", ANY, "any"))),
    Scheme("BILOU", "BILOU",
           starts=((ANY, "B", "any"), (ANY, "U", "any")),
           insides=(("B", "I", "same"), ("B", "L", "same"), ("I", "I", "same"), ("I", "L", "same")),
           ends=(("U", ANY, "any"), ("L", ANY, "any"))),
)}




def chosen_scheme(mode: str, scheme: str | None) -> str:
    """The scheme strict decoding reads: `scheme`, IOB2 where None. Naming one beside the default
    mode, which reads every scheme's tags alike, is refused: seqeval ignores it there, and a user
    who names a scheme expects it to count."""
    if scheme is not None and mode != "strict":
        raise UsageError(f"scheme {scheme!r} applies to strict decoding only, and mode is {mode!r}",
                         "pass mode='strict', or leave scheme out (the default mode reads every scheme's tags)",
                         parameter="scheme",
                         cli_message=f"--scheme {scheme} applies to strict decoding only, and --mode is {mode}",
                         cli_hint="add --mode strict, or leave out --scheme (the default mode reads every scheme's tags)")
    return check_scheme(DEFAULT_SCHEME if scheme is None else scheme)


def strict_parts(tag: str) -> tuple[str, str]:
    """(prefix, type) as seqeval's strict mode reads a tag: 'B-PER' -> ('B', 'PER'),
    'O' -> ('O', '_'), 'B-MISC-X' -> ('B', 'MISC-X')."""
    return tag[:1], tag[1:].strip("-") or "_"


def refuse_tag(rules: Scheme, tag: str) -> UsageError:
    """The error for a tag that `rules` does not allow (seqeval raises too)."""
    return UsageError(f"strict mode with the {rules.name} scheme reads tags with the prefixes "
                      f"{', '.join(rules.allowed)}, and {tag!r} has another",
                      "decode in the default mode, or name the scheme these tags follow "
                      f"(one of {', '.join(SCHEMES)})")


def _can_make_entities(rules: Scheme, label_names: Sequence[str]) -> bool:
    """Can any run of these tags (and O) make an entity under `rules`: start it, continue it,
    and end it well before the next tag?"""
    outside = strict_parts(OUTSIDE)
    parts = [p for p in (strict_parts(t) for t in label_names) if rules.allows(p[0]) and p != outside]
    around = [*parts, outside]
    reached = [p for p in parts if any(rules.is_start(before, p) for before in around)]
    seen = set(reached)
    while reached:  # every tag an entity can get to from a start
        tag = reached.pop()
        if any(rules.is_end(tag, after) for after in around):
            return True
        for p in parts:
            if p not in seen and rules.is_inside(tag, p):
                seen.add(p)
                reached.append(p)
    return False


def check_strict(mode: str, scheme: str, label_names: Sequence[str], run: str) -> None:
    """In strict mode, refuse a scheme under which the run's tags make no entity at all: IOB2
    tags read as IOBES or BILOU never end one (no E-/S-, L-/U-), IOE tags read as IOB2 never
    start one, and every score would read 0 as if the model had found nothing."""
    if mode != "strict":
        return
    rules = Scheme.named(scheme)
    entity_tags = [t for t in label_names if strict_parts(t)[0] != OUTSIDE]
    if not entity_tags or _can_make_entities(rules, label_names):
        return
    fits = [name for name in dict.fromkeys((DEFAULT_SCHEME, *SCHEMES))
            if all(Scheme.named(name).allows(strict_parts(t)[0]) for t in label_names)
            and _can_make_entities(Scheme.named(name), label_names)]
    shown = ", ".join(entity_tags[:4]) + (", ..." if len(entity_tags) > 4 else "")
    raise UsageError(f"strict mode with the {rules.name} scheme finds no entity in run {run!r}: its tags "
                     f"({shown}) make none under {rules.name}",
                     f"name the scheme the tags follow: {' or '.join(fits)}" if fits else "decode in the default mode",
                     parameter="scheme")


def _strict(tags: Sequence[str], rules: Scheme) -> list[Span]:
    """seqeval.scheme.Tokens.entities: an entity starts where the scheme's start patterns say,
    takes every following tag that continues it, and counts only if it ends well."""
    parts = [strict_parts(t) for t in tags]
    for tag, (prefix, _) in zip(tags, parts):
        if not rules.allows(prefix):
            raise refuse_tag(rules, tag)
    outside = strict_parts(OUTSIDE)
    extended = [*parts, outside]
    spans: list[Span] = []
    i, n = 0, len(parts)
    while i < n:  # (the appended O starts nothing)
        prev = extended[i - 1] if i else outside
        if rules.is_start(prev, extended[i]):
            end = i + 1
            while rules.is_inside(extended[end - 1], extended[end]):
                end += 1
            if rules.is_end(extended[end - 1], extended[end]):
                spans.append((i, end, extended[i][1]))
            i = end
        else:
            i += 1
    return spans


# --- what every caller uses ---------------------------------------------------------------------------


def entities(tags: Sequence[str | None], mode: str = "default", scheme: str = DEFAULT_SCHEME) -> list[Span]:
    """The entities of one sequence's tags, as seqeval finds them, in the order seqeval finds
    them (by where they end). A tag None reads as O (a word no label reached).

    >>> entities(["S-PER", "O", "B-LOC", "E-LOC"])
    [(0, 1, 'PER'), (2, 4, 'LOC')]
    >>> entities(["B-PER", "I-PER", "O", "I-LOC"], "strict")
    [(0, 2, 'PER')]
    >>> entities(["B-PER", "E-PER", "I-LOC"], "strict", scheme="IOBES")
    [(0, 2, 'PER')]
    """
    check_mode(mode)
    rules = Scheme.named(scheme)  # (a misspelt scheme is an error in either mode)
    tags = [OUTSIDE if t is None else t for t in tags]
    if mode == "default":
        return _chunks(tags)
    return _strict(tags, rules)


def entity_types(label_names: Iterable[str]) -> list[str]:
    """The entity types a run's labels can express, in first-seen order ('B-PER' -> 'PER'),
    read as the default mode reads them."""
    seen: dict[str, None] = {}
    for name in label_names:
        chunk, type_ = chunk_parts(name)
        if chunk not in (OUTSIDE, "."):
            seen.setdefault(type_)
    return list(seen)


def iob2(n: int, spans: Iterable[Span]) -> list[str]:
    """IOB2 tags for n words with the given (non-overlapping) entities."""
    tags = [OUTSIDE] * n
    for start, end, type_ in spans:
        tags[start] = f"B-{type_}"
        for i in range(start + 1, end):
            tags[i] = f"I-{type_}"
    return tags


def written(n: int, spans: Iterable[Span], label_names: Iterable[str], *, keep: Sequence[str] | None = None
            ) -> list[str]:
    """Tags for n words holding exactly the given (non-overlapping) entities, written with a run's
    own labels: B-/I- where it has them, E-/L- on an entity's last word and S-/U- on a one-word
    entity where its scheme has those, I- alone for an IO run, the bare label where a type has
    one tag. `keep`: tags (gold's) whose entities, where a span is one of them, are copied as
    they are. Raises ValueError, saying why, where the labels cannot write these entities (a
    prefix the run lacks, two touching entities of a type whose only tag is I-): whatever is
    returned decodes to `spans` in the default mode and uses only `label_names`."""
    spans = sorted(spans)
    by_type: dict[str, dict[str, str]] = {}
    for name in label_names:
        chunk, type_ = chunk_parts(name)
        if chunk not in (OUTSIDE, "."):
            by_type.setdefault(type_, {})[chunk] = name
    kept = set(_chunks(list(keep))) if keep is not None else set()
    tags = [OUTSIDE] * n
    for start, end, type_ in spans:
        if (start, end, type_) in kept:
            tags[start:end] = keep[start:end]
            continue
        have = by_type.get(type_, {})

        def pick(*chunks: str) -> str:
            found = next((have[c] for c in chunks if c in have), None)
            if found is None and len(have) == 1 and not set(have) & set("SUBE"):  # bare PER, or I-PER alone
                found = next(iter(have.values()))
            if found is None:
                role = {"S": "make", "B": "start", "I": "continue", "E": "end"}[chunks[0]]
                raise ValueError(f"the run has no label that can {role} "
                                 f"a {type_} entity of {end - start} word{'s' if end - start > 1 else ''} "
                                 f"(its {type_} labels: {', '.join(have.values()) or 'none'})")
            return found

        if end - start == 1:
            tags[start] = pick("S", "U", "B", "E", "I")
        else:
            tags[start:end] = [pick("B", "I")] + [pick("I")] * (end - start - 2) + [pick("E", "L", "I")]
    found = sorted(_chunks(tags))
    if found != spans:  # touching entities of a type with no tag that starts one
        lost = [(s, e, t) for s, e, t in spans if (s, e, t) not in found]
        labels = sorted({name for _, _, t in lost for name in by_type.get(t, {}).values()})
        raise ValueError(f"the run's labels ({', '.join(labels)}) cannot tell apart touching entities: "
                         + ", ".join(f"{t} at word{'s' if e - s > 1 else ''} {s}{f'-{e - 1}' if e - s > 1 else ''}"
                                     for s, e, t in lost))
    return tags


# --- scores --------------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    """a / b, 0 where b is 0 (seqeval's zero_division=0)."""
    return float(a) / float(b) if b else 0.0


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def scores(n_gold: int, n_pred: int, n_correct: int) -> tuple[float, float, float]:
    """(precision, recall, F1) from entity counts, as seqeval reports them (0 where undefined)."""
    precision, recall = ratio(n_correct, n_pred), ratio(n_correct, n_gold)
    return precision, recall, f1(precision, recall)
