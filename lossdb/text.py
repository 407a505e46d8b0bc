"""Counted nouns for the lines lossdb prints ("1 sequence", "2,000 sequences")."""
from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`n` and the noun, in the plural unless n is 1 (thousands separated: 1,000 tokens)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
