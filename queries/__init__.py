"""lossdb.queries: one function per question; each runs named SQL from lossdb.sql
with bound parameters and returns a Result (`.df()` for a DataFrame)."""
from .core import (GOLD, RANKINGS, adhoc, check_labels, check_n, label_names, ranks, resolve_run, run_labels, runs,
                   sequence_rows, top)
from .result import Result

# Error analysis (issue #3). entity_scores / entity_errors load on first use: they need numpy.
# (No package-level `compare` or `metadata`: those names are the submodules.)
from .analysis import (confusion, confusion_long, label_issues, loss_by_label, loss_by_token,  # noqa: E402
                       search, summary, token_issues)
from .compare import compare_entities, compare_labels, compare_sequences  # noqa: E402
from .metadata import annotate, annotations, meta_groups, metadata_table, top_where  # noqa: E402

_LAZY = {"entity_scores": "entities", "entity_errors": "entities"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Result", "GOLD", "RANKINGS", "adhoc", "check_labels", "check_n", "label_names", "ranks", "resolve_run", "run_labels",
           "runs", "sequence_rows", "top",
           "annotate", "annotations", "compare_entities", "compare_labels", "compare_sequences",
           "confusion", "confusion_long", "entity_errors", "entity_scores", "label_issues", "loss_by_label",
           "loss_by_token", "meta_groups", "metadata_table", "search", "summary", "token_issues",
           "top_where"]
