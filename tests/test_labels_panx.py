"""End to end on the shared PAN-X data and model: the UN mission tagged as a person is retyped to
ORG in a Label Studio export, imported as a label version, and `top --labels` shows that
sequence's loss drop, computed from the stored probabilities, with nothing re-scored."""
from __future__ import annotations

import json

import duckdb

from .conftest import PANX, PANX_MODEL, needs_shared, run_cli

UN_MISSION = "United Nations Multidimensional Integrated Stabilization Mission in the Central African Republic"


def _panx_sentences():
    sentence: list[tuple[str, str]] = []
    for line in PANX.read_text("utf-8").split("\n"):
        if not line.strip():
            if sentence:
                yield sentence
            sentence = []
            continue
        _index, word, tag = line.split("\t")
        sentence.append((word, tag))
    if sentence:
        yield sentence


@needs_shared
def test_retyping_the_un_mission_to_org_lowers_its_loss(tmp_path):
    sentences = list(_panx_sentences())
    un = next(i for i, s in enumerate(sentences) if " ".join(w for w, _ in s) == UN_MISSION)
    assert {t for _, t in sentences[un]} == {"B-PER", "I-PER"}  # the silver-label error
    subset = tmp_path / "panx-subset.jsonl"
    chosen = range(max(0, un - 7), un + 8)
    subset.write_text("".join(json.dumps({"id": str(i), "words": [w for w, _ in sentences[i]],
                                          "tags": [t for _, t in sentences[i]]}, ensure_ascii=False) + "\n"
                              for i in chosen), "utf-8")
    db = str(tmp_path / "panx.duckdb")
    result = run_cli("ingest", "--model", str(PANX_MODEL), "--data", str(subset), "--run", "panx", "--db", db,
                     "--device", "cpu", "--quiet")
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(db, read_only=True)
    seq_id = con.execute("SELECT seq_id FROM sequences WHERE source_id = ?", [str(un)]).fetchone()[0]
    tokens_before = con.execute("SELECT count(*), sum(loss), sum(list_sum(probs)) FROM tokens").fetchone()
    con.close()

    review = tmp_path / "review.json"
    result = run_cli("export", "--run", "panx", "--ids", f"SELECT seq_id FROM sequences WHERE seq_id = {seq_id}",
                     "--to", "label-studio", "--out", str(review), "--db", db)
    assert result.returncode == 0, result.stderr
    tasks = json.loads(review.read_text("utf-8"))
    assert len(tasks) == 1 and tasks[0]["data"]["text"] == UN_MISSION
    regions = tasks[0]["annotations"][0]["result"]
    assert [r["value"]["labels"] for r in regions] == [["PER"]] and regions[0]["value"]["text"] == UN_MISSION
    regions[0]["value"]["labels"] = ["ORG"]  # the reviewer's correction
    review.write_text(json.dumps(tasks, ensure_ascii=False), "utf-8")
    result = run_cli("import-labels", str(review), "--run", "panx", "--as", "reviewed", "--db", db)
    assert result.returncode == 0, result.stderr
    assert "1 differs from gold" in result.stderr

    diff = json.loads(run_cli("diff-labels", "--run", "panx", "--to", "reviewed", "--format", "json", "--db", db).stdout)
    assert [(d["seq_id"], d["change"]) for d in diff] == [(seq_id, "retyped")]
    assert diff[0]["before"].startswith("[PER United Nations") and diff[0]["after"].startswith("[ORG United Nations")

    def top(*labels):
        out = run_cli("top", "--run", "panx", "--n", "15", "--format", "json", "--db", db, *labels)
        assert out.returncode == 0, out.stderr
        return {r["seq_id"]: r for r in json.loads(out.stdout)}

    gold, reviewed = top(), top("--labels", "reviewed")
    assert reviewed[seq_id]["total_loss"] < gold[seq_id]["total_loss"]
    assert [x for x in reviewed[seq_id]["labels"] if x != "IGN"] == ["B-ORG"] + ["I-ORG"] * 10
    for other in gold:
        if other != seq_id:
            assert reviewed[other]["total_loss"] == gold[other]["total_loss"]
    con = duckdb.connect(db, read_only=True)
    assert con.execute("SELECT count(*), sum(loss), sum(list_sum(probs)) FROM tokens").fetchone() == tokens_before
    con.close()
