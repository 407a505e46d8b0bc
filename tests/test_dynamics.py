"""Training dynamics (issue #15): run groups, the Trainer callback, the dynamics computed from
the stored probabilities, the data map, the group rankings, out-of-fold runs.

The central fixture fine-tunes a tiny real BERT with the real transformers Trainer on 100
sentences with 8 planted label errors, with LossdbCallback scoring the training set after
every epoch. The model is first trained for 150 steps on 1,000 other, clean sentences (what
a pretrained checkpoint brings to a real fine-tuning): it then knows the clean patterns, so a
planted error starts out wrong and is memorised only as the epochs go by.
"""
from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

import lossdb
from lossdb import demo, plots
from lossdb.errors import InputError, StoreError, UsageError
from lossdb.queries import db as store_db
from lossdb.queries import dynamics

from .conftest import run_cli

_COMMON = Path(__file__).resolve().parents[1] / "bench" / "common.py"
_spec = importlib.util.spec_from_file_location("lossdb_bench_common", _COMMON)
_bench_common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench_common)
tokenized = _bench_common.tokenized  # the Trainer's input, shared with bench/callback_bench.py

EPOCHS = 6
N_SENTENCES = 100
N_PLANTED = 8
GROUP = "train"


def tiny_model(root: Path, *, seed: int = 1, pretrain_steps: int = 0) -> Path:
    corpus = [w for w, _ in demo.make_sentences(400, seed=3)]
    tok = demo.build_tokenizer("wordpiece", corpus, root / "tok", vocab_size=300)
    model_dir = demo.build_model(tok, root / "model", seed=seed, dropout=0.0)
    if pretrain_steps:
        demo.train(model_dir, demo.make_sentences(1000, seed=5), steps=pretrain_steps, batch_size=32, lr=5e-3, seed=0)
    return model_dir


def train(model_dir: Path, sentences, callbacks, *, out: Path, epochs: int, batch_size: int = 4, lr: float = 5e-3,
          remove_unused_columns: bool = True):
    import datasets
    import torch
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification,
                              Trainer, TrainingArguments)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir)
    dataset = datasets.Dataset.from_dict({"tokens": [w for w, _ in sentences], "ner_tags": [t for _, t in sentences]})
    pad = DataCollatorForTokenClassification(tokenizer)
    # With remove_unused_columns=False the Trainer hands every column to the collator: keep the model's.
    collator = pad if remove_unused_columns else (
        lambda rows: pad([{k: r[k] for k in ("input_ids", "attention_mask", "labels")} for r in rows]))
    args = TrainingArguments(output_dir=str(out), num_train_epochs=epochs, per_device_train_batch_size=batch_size,
                             learning_rate=lr, save_strategy="no", report_to=[], logging_strategy="no", use_cpu=True,
                             disable_tqdm=True, seed=0, remove_unused_columns=remove_unused_columns)
    trainer = Trainer(model=model, args=args, train_dataset=tokenized(dataset, tokenizer, model.config.label2id),
                      data_collator=collator, processing_class=tokenizer, callbacks=callbacks)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: more threads only cost on a shared machine
    try:
        trainer.train()
    finally:
        torch.set_num_threads(threads)
    return dataset


def _mode_recorder():
    from transformers import TrainerCallback

    class ModeAfterScoring(TrainerCallback):
        """Registered after LossdbCallback: sees the model right after each scoring."""

        def __init__(self):
            self.training = []

        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            self.training.append(model.training)

    return ModeAfterScoring()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from lossdb.integrations.transformers import LossdbCallback

    root = tmp_path_factory.mktemp("dynamics")
    model_dir = tiny_model(root, pretrain_steps=150)
    clean = demo.make_sentences(N_SENTENCES, seed=11)
    noisy, planted = demo.plant_label_errors(clean, k=N_PLANTED, seed=2)
    store = root / "train.duckdb"
    import datasets

    dataset = datasets.Dataset.from_dict({"tokens": [w for w, _ in noisy], "ner_tags": [t for _, t in noisy]})
    callback = LossdbCallback(store, dataset, group=GROUP, verbose=False)
    recorder = _mode_recorder()
    train(model_dir, noisy, [callback, recorder], out=root / "out", epochs=EPOCHS)
    return {"store": store, "planted": planted, "callback": callback, "recorder": recorder, "root": root,
            "model": model_dir, "noisy": noisy}


@pytest.fixture
def con(trained):
    con = store_db.connect(trained["store"])
    yield con
    con.close()


# --- the callback ---------------------------------------------------------------------------------


def test_one_complete_run_lands_per_epoch_in_step_order(trained, con):
    runs = dynamics.group_runs(con, GROUP).records()
    assert [r["run_id"] for r in runs] == [f"{GROUP}@{e}" for e in range(1, EPOCHS + 1)]
    assert [r["step"] for r in runs] == list(range(1, EPOCHS + 1))
    assert all(r["n_sequences"] == N_SENTENCES for r in runs)
    # the cost is in the run record and on the callback: training time next to scoring time
    assert all(r["train_seconds"] > 0 and r["scoring_seconds"] > 0 for r in runs)
    costs = trained["callback"].costs
    assert [c.run for c in costs] == [r["run_id"] for r in runs]
    assert all(c.scoring_seconds > 0 and c.train_seconds > 0 for c in costs)
    # the model went back to train mode after every scoring
    assert trained["recorder"].training == [True] * EPOCHS
    # every run holds the same sequences, in the dataset's order, and the gold labels of the data
    seqs = con.execute("SELECT run_id, list(seq_key ORDER BY seq_id) AS keys, list(labels ORDER BY seq_id) AS labels "
                       "FROM sequences GROUP BY run_id").fetchall()
    assert len({json.dumps(keys) for _, keys, _ in seqs}) == 1
    assert all(labels == [t for _, t in trained["noisy"]] for _, _, labels in seqs)
    # and the runs improve: the last epoch's model fits the training data better than the first
    losses = dict(con.execute("SELECT run_id, sum(total_loss) FROM sequences GROUP BY run_id").fetchall())
    assert losses[f"{GROUP}@{EPOCHS}"] < losses[f"{GROUP}@1"]


def test_a_second_training_into_the_same_group_is_refused_before_it_starts(trained):
    from lossdb.integrations.transformers import LossdbCallback

    callback = LossdbCallback(trained["store"], _dataset(trained), group=GROUP, verbose=False)
    with pytest.raises(StoreError, match="already has 6 runs"):
        callback._prepare_store()
    con = store_db.connect(trained["store"])
    assert len(dynamics.group_runs(con, GROUP)) == EPOCHS
    con.close()


def test_a_last_epoch_cut_short_is_a_run_of_its_own_and_other_runs_are_never_taken(tmp_path, wordpiece_model,
                                                                                     conll_file):
    """num_train_epochs=1.5 ends epochs at 1.0 and 1.5: two runs (the second was named @2 after
    rounding, and crashed the training's end or, with replace, overwrote epoch 2). A run named as
    the group's would be, outside the group, is refused before training, with replace too."""
    from lossdb.ingest import ingest
    from lossdb.integrations.transformers import LossdbCallback

    sentences = demo.make_sentences(16, seed=4)  # 4 steps an epoch: 1.5 epochs end at step 6
    dataset = datasets_of(sentences)
    store = tmp_path / "frac.duckdb"
    train(Path(wordpiece_model), sentences, [LossdbCallback(store, dataset, group="frac", verbose=False)],
          out=tmp_path / "out", epochs=1.5, batch_size=4)
    con = store_db.connect(store)
    runs = con.execute("SELECT run_id, step, (params->>'epoch')::DOUBLE FROM runs ORDER BY step").fetchall()
    con.close()
    assert runs == [("frac@1", 1, 1.0), ("frac@1.5", 2, 1.5)]

    other = tmp_path / "other.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(other), run="frac@2", progress=False)
    for replace in (False, True):
        callback = LossdbCallback(other, dataset, group="frac", replace=replace, verbose=False)
        with pytest.raises(StoreError, match="run 'frac@2' of .* is not in group 'frac', and the callback names its "
                                             "runs frac@EPOCH"):
            callback._prepare_store()
    con = store_db.connect(other)
    assert con.execute("SELECT run_id FROM runs").fetchall() == [("frac@2",)]
    con.close()


def datasets_of(sentences):
    import datasets

    return datasets.Dataset.from_dict({"tokens": [w for w, _ in sentences], "ner_tags": [t for _, t in sentences]})


def _dataset(trained):
    import datasets

    return datasets.Dataset.from_dict({"tokens": [w for w, _ in trained["noisy"]],
                                       "ner_tags": [t for _, t in trained["noisy"]]})


def test_bad_callback_arguments_are_one_clear_error():
    from lossdb.integrations.transformers import LossdbCallback

    with pytest.raises(UsageError, match="every_n_steps"):
        LossdbCallback("x.duckdb", "x.conll", every_n_steps=0)
    with pytest.raises(InputError, match="does not exist"):
        LossdbCallback("x.duckdb", "no-such-file.conll")
    with pytest.raises(UsageError, match="cannot score a dict"):
        LossdbCallback("x.duckdb", {"tokens": []})


def test_only_the_main_process_scores(tmp_path, wordpiece_model, conll_file):
    """Under multi-GPU training every process runs the callbacks; only world process zero
    scores and commits (the others would write the same run once per GPU)."""
    from transformers import (AutoModelForTokenClassification, AutoTokenizer, TrainerControl, TrainerState,
                              TrainingArguments)

    from lossdb.integrations.transformers import LossdbCallback

    store = tmp_path / "ranks.duckdb"
    callback = LossdbCallback(store, conll_file, group="g", verbose=False)
    model = AutoModelForTokenClassification.from_pretrained(wordpiece_model)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), use_cpu=True, report_to=[])
    other = TrainerState(epoch=1.0, global_step=3, is_world_process_zero=False)
    callback.on_train_begin(args, other, TrainerControl(), model=model)
    callback.on_epoch_end(args, other, TrainerControl(), model=model)
    assert not store.exists() and callback.costs == []
    main = TrainerState(epoch=1.0, global_step=3, is_world_process_zero=True)
    tokenizer = AutoTokenizer.from_pretrained(wordpiece_model)
    callback.on_train_begin(args, main, TrainerControl(), model=model, processing_class=tokenizer)
    callback.on_epoch_end(args, main, TrainerControl(), model=model, processing_class=tokenizer)
    con = store_db.connect(store)
    assert [(r["run_id"], r["step"]) for r in dynamics.group_runs(con, "g").records()] == [("g@1", 1)]
    con.close()


def test_every_n_steps_with_remove_unused_columns_off_and_a_source_file(tmp_path):
    """The other way round: scoring every N steps, the Trainer keeping every column, and the
    data given as a lossdb source (a CoNLL file) instead of a Dataset."""
    from lossdb.integrations.transformers import LossdbCallback

    model_dir = tiny_model(tmp_path)
    sentences = demo.make_sentences(24, seed=4)
    conll = demo.write_conll(sentences, tmp_path / "train.conll")
    store = tmp_path / "steps.duckdb"
    callback = LossdbCallback(store, conll, group="steps", every_n_steps=4, verbose=False)
    train(model_dir, sentences, [callback], out=tmp_path / "out", epochs=2, batch_size=4,
          remove_unused_columns=False)  # 6 steps an epoch: steps 4, 8, 12
    con = store_db.connect(store)
    runs = dynamics.group_runs(con, "steps").records()
    assert [(r["run_id"], r["step"]) for r in runs] == [("steps@step4", 4), ("steps@step8", 8), ("steps@step12", 12)]
    assert con.execute("SELECT DISTINCT data_source FROM runs").fetchall() == [(str(conll),)]


# --- dynamics from the stored probabilities ---------------------------------------------------------


def _independent_word_dynamics(store: Path) -> dict:
    """Per (seq_id, word_index): the dynamics computed here in numpy from the raw token rows."""
    con = duckdb.connect(str(store), read_only=True)
    rows = con.execute("""
        SELECT r.step, t.seq_id, t.word_index, t.label, t.pred, t.probs, r.label_names
        FROM runs r JOIN tokens t USING (run_id)
        WHERE r.group_name = ? AND t.label IS NOT NULL ORDER BY r.step""", [GROUP]).fetchall()
    con.close()
    words: dict = {}
    for step, seq_id, word_index, label, pred, probs, names in rows:
        probs = np.asarray(probs, dtype=np.float64)
        gold = names.index(label)
        others = np.delete(probs, gold)
        margin = np.log(max(probs[gold], 1e-45)) - np.log(max(others.max(), 1e-45))
        words.setdefault((seq_id, word_index), []).append((step, probs[gold], pred == label, margin))
    out = {}
    for key, steps in words.items():
        steps.sort()
        p = np.array([s[1] for s in steps])
        right = [s[2] for s in steps]
        out[key] = {"confidence": p.mean(), "variability": p.std(), "correctness": np.mean(right),
                    "forgetting": sum(a and not b for a, b in zip(right, right[1:])),
                    "aum": np.mean([s[3] for s in steps]), "p": p, "right": right}
    return out


def test_word_dynamics_equal_values_computed_from_the_stored_probabilities(trained, con):
    want = _independent_word_dynamics(trained["store"])
    got = dynamics.word_dynamics(con, GROUP).records()
    assert len(got) == len(want) == sum(len(w) for w, _ in trained["noisy"])
    for row in got:
        w = want[(row["seq_id"], row["word_index"])]
        assert row["n_runs"] == EPOCHS
        for name in ("confidence", "variability", "correctness", "aum"):
            assert row[name] == pytest.approx(w[name], abs=1e-6), name
        assert row["forgetting"] == w["forgetting"]
    assert sum(w["forgetting"] for w in want.values()) > 0  # the forgetting count is exercised


def test_sequence_dynamics_equal_values_computed_from_the_stored_probabilities(trained, con):
    words = _independent_word_dynamics(trained["store"])
    by_seq: dict = {}
    for (seq_id, _), w in words.items():
        by_seq.setdefault(seq_id, []).append(w)
    got = dynamics.sequence_dynamics(con, GROUP).records()
    assert len(got) == N_SENTENCES
    for row in got:
        ws = by_seq[row["seq_id"]]
        per_run_p = np.mean([w["p"] for w in ws], axis=0)  # the sequence's mean gold probability per run
        per_run_right = np.all([w["right"] for w in ws], axis=0)
        assert row["confidence"] == pytest.approx(per_run_p.mean(), abs=1e-6)
        assert row["variability"] == pytest.approx(per_run_p.std(), abs=1e-6)
        assert row["correctness"] == pytest.approx(per_run_right.mean(), abs=1e-9)
        assert row["forgetting"] == sum(w["forgetting"] for w in ws)
        assert row["min_aum"] == pytest.approx(min(w["aum"] for w in ws), abs=1e-6)
        assert row["min_confidence"] == pytest.approx(min(w["confidence"] for w in ws), abs=1e-6)
        region = ("ambiguous" if row["variability"] >= 0.2 else
                  "easy-to-learn" if row["confidence"] >= 0.5 else "hard-to-learn")
        assert row["region"] == region


def _planted_ranks(order: list[int], planted: list[int]) -> list[int]:
    return sorted(order.index(seq_id) + 1 for seq_id in planted)


def test_planted_errors_rank_higher_by_training_dynamics_than_by_the_final_models_loss(trained, con, capsys):
    planted = trained["planted"]
    final = f"{GROUP}@{EPOCHS}"
    by_loss = [r[0] for r in con.execute(
        "SELECT seq_id FROM sequences WHERE run_id = ? ORDER BY total_loss DESC, seq_id", [final]).fetchall()]
    top = 2 * N_PLANTED
    loss_ranks = _planted_ranks(by_loss, planted)
    found_by_loss = sum(r <= top for r in loss_ranks)
    lines = [f"final model's total loss: planted ranks {loss_ranks}, {found_by_loss}/{N_PLANTED} in the top {top}"]
    for method in ("aum", "confidence", "correctness"):
        order = [r["seq_id"] for r in dynamics.rank(con, GROUP, N_SENTENCES, method=method).records()]
        ranks = _planted_ranks(order, planted)
        found = sum(r <= top for r in ranks)
        lines.append(f"{method}: planted ranks {ranks}, {found}/{N_PLANTED} in the top {top}")
        assert found > found_by_loss, lines
        assert np.mean(ranks) < np.mean(loss_ranks), lines
    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_issues_and_dynamics_commands_print_the_group_rankings(trained, built_store):
    result = run_cli("issues", "--group", GROUP, "--method", "aum", "--n", "5", "--format", "json",
                     "--db", str(trained["store"]))
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    con = store_db.connect(trained["store"])
    want = dynamics.rank(con, GROUP, 5, method="aum").records()
    con.close()
    assert [r["seq_id"] for r in printed] == [r["seq_id"] for r in want]
    assert [r["rank"] for r in printed] == [1, 2, 3, 4, 5]
    words = run_cli("dynamics", "--group", GROUP, "--seq-id", str(want[0]["seq_id"]), "--format", "json",
                    "--db", str(trained["store"]))
    assert words.returncode == 0, words.stderr
    assert any(w["word"] == want[0]["worst_word"] for w in json.loads(words.stdout))
    missing = run_cli("dynamics", "--group", "nope", "--db", str(trained["store"]))
    assert missing.returncode == 4
    assert missing.stderr.strip() == ("lossdb: error: no complete runs of group 'nope' in this store; "
                                      "groups here: 'train'")
    bad = run_cli("issues", "--group", GROUP, "--method", "softness", "--db", str(trained["store"]))
    assert bad.returncode == 2 and "cannot rank a group by 'softness'" in bad.stderr
    both = run_cli("issues", "--group", GROUP, "--run", f"{GROUP}@1", "--db", str(trained["store"]))
    assert both.returncode == 2
    assert both.stderr.strip() == ("lossdb: error: --group ranks across the group's runs, --run ranks one run; "
                                   "pass one of them")
    # options the group's views would ignore are refused, in the CLI and in Python
    plot = trained["root"] / "p.png"
    for args, said in ((["issues", "--plot", str(plot)], "--evaluate, --methods, --plot and --force are for the label-"),
                       (["issues", "--force"], "--evaluate, --methods, --plot and --force"),
                       (["dynamics", "--seq-id", "3", "--n", "2"], "--seq-id lists every labelled word of the "
                                                                    "sequence, and --n does not apply to it"),
                       (["dynamics", "--seq-id", "3", "--method", "aum"], "and --method does not apply to it")):
        refused = run_cli(*args, "--group", GROUP, "--db", str(trained["store"]))
        assert refused.returncode == 2 and said in refused.stderr and refused.stdout == "", (args, refused.stderr)
    assert not plot.exists()
    with pytest.raises(UsageError, match="seq_id lists every labelled word") as refused:
        lossdb.connect(trained["store"]).dynamics(GROUP, seq_id=3, method="confidence")
    assert refused.value.parameter == "method"
    with pytest.raises(UsageError, match="cannot rank a group by 'soft'") as refused:
        lossdb.connect(trained["store"]).dynamics(GROUP, method="soft")
    assert refused.value.parameter == "method"
    # a store without groups says how to make one
    empty = run_cli("groups", "--db", str(built_store))
    assert empty.returncode == 0 and "this store has no run groups; make one with `lossdb ingest --group NAME`" \
        in empty.stderr, empty.stderr


def test_group_commands_do_not_import_the_ml_stack(trained):
    code = ("import sys; from lossdb.cli.app import main; sys.argv = ['lossdb'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'transformers', 'datasets', 'pandas') if m in sys.modules]\n"
            "print('HEAVY', heavy, file=sys.stderr)")
    for args in (["dynamics", "--group", GROUP], ["issues", "--group", GROUP]):
        result = subprocess.run([sys.executable, "-c", code, *args, "--db", str(trained["store"])],
                                capture_output=True, text=True)
        assert "HEAVY []" in result.stderr, (args, result.stderr)


# --- the data map -----------------------------------------------------------------------------------


def test_data_map_points_are_the_sequences_variability_confidence_and_correctness(trained, con, tmp_path):
    out = tmp_path / "datamap.png"
    fig = plots.datamap_figure(con, GROUP, out)
    points = fig.axes[0].collections[0]
    want = dynamics.datamap(con, GROUP).records()
    assert len(want) == N_SENTENCES
    np.testing.assert_allclose(points.get_offsets(), [(r["variability"], r["confidence"]) for r in want], atol=1e-9)
    np.testing.assert_allclose(points.get_array(), [r["correctness"] for r in want], atol=1e-9)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "datamap.svg"
    result = run_cli("datamap", "--group", GROUP, "--out", str(svg), "--db", str(trained["store"]))
    assert result.returncode == 0, result.stderr
    text = svg.read_text()
    assert "easy-to-learn" in text and "hard-to-learn" in text and "ambiguous" in text


def test_the_report_of_a_run_in_a_group_shows_its_data_map(trained, con):
    from lossdb import report

    built = report.build(con, run=f"{GROUP}@3", n=5)
    assert "datamap" in built.sections
    assert "Data map of group train" in built.html


# --- killing training ---------------------------------------------------------------------------------


KILL_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {repo!r})
    from tests.test_dynamics import train
    from lossdb import demo
    from lossdb.ingest import scoring
    from lossdb.integrations.transformers import LossdbCallback
    from transformers import TrainerCallback

    where, model_dir, store = sys.argv[1], sys.argv[2], sys.argv[3]
    sentences = demo.make_sentences(24, seed=4)
    callback = LossdbCallback(store, demo.write_conll(sentences, store + ".conll"), group="g", verbose=False)

    class KillInEpoch3(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if where == "training" and state.epoch > 2.5:
                os.kill(os.getpid(), signal.SIGKILL)

    forward = scoring.forward
    def forward_then_die(loaded, windows):  # killed in the middle of scoring epoch 3's run
        if where == "scoring" and len(callback.costs) == 2:
            os.kill(os.getpid(), signal.SIGKILL)
        return forward(loaded, windows)
    scoring.forward = forward_then_die

    train(model_dir, sentences, [callback, KillInEpoch3()], out=store + ".out", epochs=4, batch_size=4)
""")


@pytest.mark.parametrize("where", ["training", "scoring"])
def test_killing_training_mid_epoch_leaves_the_earlier_epochs_runs_and_no_half_run(tmp_path, where):
    model_dir = tiny_model(tmp_path)
    script = tmp_path / "kill.py"
    script.write_text(KILL_SCRIPT.format(repo=str(Path(__file__).parents[1])))
    store = tmp_path / "killed.duckdb"
    result = subprocess.run([sys.executable, str(script), where, str(model_dir), str(store)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT run_id, status, step FROM runs ORDER BY step").fetchall() == [
        ("g@1", "complete", 1), ("g@2", "complete", 2)]
    for table in ("tokens", "sequences"):
        assert con.execute(f"SELECT DISTINCT run_id FROM {table} ORDER BY 1").fetchall() == [("g@1",), ("g@2",)]
    assert con.execute("SELECT count(*) FROM sequences").fetchone()[0] == 2 * 24
    con.close()
    con = store_db.connect(store)
    assert len(dynamics.word_dynamics(con, "g")) > 0  # the two epochs' dynamics are readable
    con.close()


# --- run groups through ingest ------------------------------------------------------------------------


def test_ingest_with_a_group_checks_that_its_runs_cover_the_same_sequences(tmp_path, wordpiece_model, conll_file):
    from lossdb.ingest import ingest

    store = tmp_path / "g.duckdb"
    ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-1", group="ckpts", step=100, progress=False)
    listed = run_cli("runs", "--db", str(store)).stdout.splitlines()  # a store with groups shows them
    assert listed[0].split()[-2:] == ["group_name", "step"] and listed[2].split()[-2:] == ["ckpts", "100"]
    groups = json.loads(run_cli("groups", "-f", "json", "--db", str(store)).stdout)
    assert [(g["group_name"], g["n_runs"]) for g in groups] == [("ckpts", 1)]
    one = run_cli("dynamics", "--group", "ckpts", "--n", "2", "--db", str(store))
    assert one.returncode == 0 and one.stderr.strip() == ("lossdb: note: group 'ckpts' has one run so far; variability "
                                                          "and forgetting need two or more (every sequence's are 0)")
    # refused before the model runs (the count is known from the data), with the commit's rule
    with pytest.raises(InputError, match=r"run 'ckpt-2' would have 30 sequences and run 'ckpt-1' of group 'ckpts' "
                                         r"has 60, so they cannot cover the same sequences"):
        ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", group="ckpts", step=200, limit=30,
               progress=False)
    # the commit's own check, where the counts agree but the sequences do not
    con = duckdb.connect(str(store))
    con.execute("UPDATE sequences SET seq_key = 'other' WHERE seq_id = 5")
    con.close()
    with pytest.raises(InputError, match=r"does not cover the same sequences as run 'ckpt-1' of group 'ckpts' "
                                         r"\(1 only in this run, 1 only in 'ckpt-1'; first seq_id 5\)"):
        ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", group="ckpts", step=200, progress=False)
    con = duckdb.connect(str(store))
    con.execute("UPDATE sequences SET seq_key = coalesce(source_id, words_hash) WHERE seq_id = 5")
    con.close()
    with pytest.raises(StoreError, match="group 'ckpts' already has a run at step 100, 'ckpt-1'"):
        ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", group="ckpts", step=100, progress=False)
    # the same sentences with one gold tag changed: a group's dynamics would judge steps by different labels
    lines = conll_file.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.strip() and not line.startswith("#"))
    word, tag = lines[first].rsplit(maxsplit=1)
    lines[first] = f"{word} {'B-ORG' if tag != 'B-ORG' else 'B-LOC'}"
    relabelled = tmp_path / "relabelled.conll"
    relabelled.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"run 'ckpt-2' gives 1 sequence other gold labels than run 'ckpt-1' of "
                                         r"group 'ckpts' \(first seq_id 0\)"):
        ingest(wordpiece_model, str(relabelled), db=str(store), run="ckpt-2", group="ckpts", step=200, progress=False)
    # a shard beside whole runs of its group would be a step over half the sequences (it joined:
    # dynamics then had steps 1-3 for even sequences and 1-2 for odd ones)
    with pytest.raises(InputError, match=r"run 'ckpt-2' is a shard \(--shard\), and run 'ckpt-1' of group 'ckpts' "
                                         r"in this store covers the whole data; score every shard into a store of "
                                         r"its own and `lossdb merge` them"):
        ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", group="ckpts", step=200, shard="0/2",
               progress=False)
    shard_store = tmp_path / "shard0.duckdb"  # shard 0's store of every step, to merge: scored as ever
    for step in (1, 2):
        ingest(wordpiece_model, str(conll_file), db=str(shard_store), run=f"step-{step}", group="ckpts", step=step,
               shard="0/2", progress=False)
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT run_id, group_name, step FROM runs").fetchall() == [("ckpt-1", "ckpts", 100)]
    assert con.execute("SELECT DISTINCT run_id FROM tokens").fetchall() == [("ckpt-1",)]
    con.close()
    # without a step the run takes the group's next one; every --run command reads it as any run
    ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", group="ckpts", progress=False)
    result = run_cli("runs", "--format", "json", "--db", str(store))
    steps = {r["run_id"]: (r["group_name"], r["step"]) for r in json.loads(result.stdout)}
    assert steps == {"ckpt-1": ("ckpts", 100), "ckpt-2": ("ckpts", 101)}
    top = run_cli("top", "--n", "1", "--run", "ckpt-2", "--format", "json", "--db", str(store))
    assert top.returncode == 0 and json.loads(top.stdout)[0]["run"] == "ckpt-2"
    con = store_db.connect(store)
    # one model scored twice: no variability, no forgetting, and the confidence is that run's
    words = dynamics.word_dynamics(con, "ckpts").records()
    assert all(w["variability"] == pytest.approx(0, abs=1e-7) and w["forgetting"] == 0 for w in words)
    con.close()
    # re-scoring a checkpoint keeps its place: without --group it left the group, with it it came
    # back as the last step
    ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-1", replace=True, progress=False)
    ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", replace=True, group="ckpts", progress=False)
    steps = {r["run_id"]: (r["group_name"], r["step"])
             for r in json.loads(run_cli("runs", "--format", "json", "--db", str(store)).stdout)}
    assert steps == {"ckpt-1": ("ckpts", 100), "ckpt-2": ("ckpts", 101)}
    ingest(wordpiece_model, str(conll_file), db=str(store), run="ckpt-2", replace=True, group="ckpts", step=300,
           progress=False)  # a step named is the step taken
    assert lossdb.connect(store).runs().set_index("run_id").loc["ckpt-2", "step"] == 300


def test_a_step_without_a_group_is_a_one_line_usage_error(tmp_path, wordpiece_model, conll_file):
    result = run_cli("ingest", "--model", wordpiece_model, "--data", str(conll_file), "--step", "3",
                     "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2
    assert result.stderr.strip() == ("lossdb: error: a step (3) is given without a group; "
                                     "name the run's group too (--group)")
    assert not (tmp_path / "x.duckdb").exists()


# --- out-of-fold runs ---------------------------------------------------------------------------------


def test_export_fold_writes_every_sequence_but_the_fold(store_copy, tmp_path):
    out = tmp_path / "train_1.jsonl"
    result = run_cli("export", "--fold", "1/3", "--to", "jsonl", "--out", str(out), "--db", str(store_copy))
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(store_copy), read_only=True)
    want = con.execute("SELECT seq_id, words FROM sequences WHERE run_id = 'wp' AND seq_id % 3 <> 1 "
                       "ORDER BY seq_id").fetchall()
    con.close()
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["words"] for r in written] == [w for _, w in want]
    assert len(written) == 40
    bad = run_cli("export", "--fold", "3/3", "--to", "jsonl", "--out", str(out), "--force", "--db", str(store_copy))
    assert bad.returncode == 2 and "fold '3/3' is not of the form i/N" in bad.stderr and "(--fold)" in bad.stderr
    # one fold leaves nothing to train on; --n, --all or --ids beside --fold would be ignored: all refused
    for extra, said in ((["--fold", "0/1"], "fold 0/1 leaves no training data (every sequence is in fold 0); "
                                            "split into at least 2 folds, e.g. 0/5 (--fold)"),
                        (["--fold", "0/2", "--n", "5"], "--fold and --n each choose the sequences to export; give one of --fold, --n"),
                        (["--fold", "0/2", "--all"], "--all and --fold each choose the sequences to export"),
                        (["--fold", "0/2", "--ids", "SELECT 1 AS seq_id"], "--ids and --fold each choose the sequences to export")):
        refused = run_cli("export", *extra, "--to", "jsonl", "--out", str(out), "--force", "--db", str(store_copy))
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    assert len(out.read_text().splitlines()) == 40  # the file written before is left as it was
    ranked = run_cli("export", "--all", "--n", "3", "--to", "jsonl", "--out", str(out), "--force", "--db", str(store_copy))
    assert ranked.returncode == 2 and "--all and --n each choose the sequences to export" in ranked.stderr


def test_shards_scored_by_one_model_each_merge_into_one_out_of_fold_run(tmp_path, wordpiece_model, conll_file):
    from lossdb.ingest import ingest, merge

    models = [wordpiece_model, str(demo.build_model(wordpiece_model, tmp_path / "m1", seed=2)),
              str(demo.build_model(wordpiece_model, tmp_path / "m2", seed=3))]
    shards = []
    for i, model in enumerate(models):
        shards.append(str(tmp_path / f"fold{i}.duckdb"))
        ingest(model, str(conll_file), db=shards[-1], run="oof", shard=f"{i}/3", progress=False)
    target = tmp_path / "oof.duckdb"
    with pytest.raises(InputError, match="shards differ in model.*out-of-fold"):
        merge(str(target), shards)
    assert merge(str(target), shards, out_of_fold=True).runs == ["oof"]
    con = duckdb.connect(str(target), read_only=True)
    n, = con.execute("SELECT count(*) FROM sequences WHERE run_id = 'oof'").fetchone()
    params = json.loads(con.execute("SELECT params FROM runs WHERE run_id = 'oof'").fetchone()[0])
    # each fold's rows are its own model's: the same as that model's shard store
    for i, shard in enumerate(shards):
        mine = con.execute("SELECT seq_id, total_loss FROM sequences WHERE seq_id % 3 = ? ORDER BY seq_id", [i]).fetchall()
        theirs = duckdb.connect(shard, read_only=True)
        assert mine == theirs.execute("SELECT seq_id, total_loss FROM sequences ORDER BY seq_id").fetchall()
        theirs.close()
    con.close()
    assert n == 60
    assert [p["model"] for p in params["out_of_fold"]] == models
    issues = run_cli("issues", "--run", "oof", "--n", "3", "--format", "json", "--db", str(target))
    assert issues.returncode == 0 and len(json.loads(issues.stdout)) == 3
