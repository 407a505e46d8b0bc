"""On the shared PAN-X data and model: lossdb top equals the book's own pandas pipeline."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lossdb.ingest import ingest

from .conftest import PANX, PANX_MODEL, needs_shared, run_cli

BENCH = Path(__file__).resolve().parents[1] / "bench"


@needs_shared
def test_top3_equals_the_books_pipeline(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        import book_pipeline
    finally:
        sys.path.remove(str(BENCH))
    limit = 300
    book = book_pipeline.run_book_pipeline(str(PANX_MODEL), str(PANX), n=3, limit=limit)["top"]
    db = tmp_path / "panx.duckdb"
    ingest(str(PANX_MODEL), str(PANX), db=str(db), run="panx", limit=limit, progress=False)
    result = run_cli("top", "--n", "3", "--format", "json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)
    assert [r["seq_id"] for r in ours] == [b["seq_index"] for b in book]
    for r, b in zip(ours, book):
        assert r["total_loss"] == pytest.approx(b["total_loss"], abs=1e-3)
        assert r["tokens"] == b["tokens"] and r["labels"] == b["labels"] and r["preds"] == b["preds"]
        assert r["losses"] == pytest.approx(b["losses"], abs=1e-3)
