"""The real-data battery: bad inputs and kills against the `lossdb` command, one PASS/FAIL line each.

    .venv/bin/python bench/bad_inputs.py [--model DIR] [--data FILE] [--limit N] [--work DIR]

Uses the real model and data in ../shared (minilm-panx-de, panx-de/validation.conllu).
Every corrupted copy and every store lives in a temporary folder (never in the repository).
Each bad-input case checks: a non-zero exit, exactly one stderr line `lossdb: error: ...`
naming the problem, no traceback, nothing on stdout, and the store byte-for-byte unchanged
(or still absent). The kill cases SIGKILL an ingest of the first --limit sentences while it
scores, inside its commit (the LOSSDB_FAULT hook) and the moment its commit starts, then check
that the earlier run is unchanged, nothing of the killed run is visible, the file opens, and
the same ingest then succeeds. Exit status: the number of failed cases.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from lossdb.ingest.writer import staging_folder

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LOSSDB = [sys.executable, "-m", "lossdb.cli.app"]

results: list[tuple[str, bool, str]] = []
CWD = tempfile.gettempdir()  # commands run outside the repository: they import the installed lossdb


def report(name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)


def cli(*args: str, env: dict | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    full.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.run([*LOSSDB, *args], capture_output=True, text=True, env=full, timeout=timeout, cwd=CWD)


def start(*args: str) -> subprocess.Popen:
    full = {k: v for k, v in os.environ.items() if k != "LOSSDB_DB"}
    return subprocess.Popen([*LOSSDB, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full, cwd=CWD)


def state(path: Path):
    if not path.exists():
        return None
    wal = path.with_name(path.name + ".wal")
    return hashlib.sha256(path.read_bytes()).hexdigest(), wal.exists()


def content(path: Path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT * FROM runs ORDER BY run_id").fetchall(),
                con.execute("SELECT run_id, count(*), sum(loss) FROM tokens GROUP BY ALL ORDER BY ALL").fetchall(),
                con.execute("SELECT run_id, count(*), sum(total_loss) FROM sequences GROUP BY ALL ORDER BY ALL").fetchall())
    finally:
        con.close()


def run_ids(path: Path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute(
            "SELECT run_id FROM runs UNION SELECT run_id FROM sequences UNION SELECT run_id FROM tokens").fetchall()}
    finally:
        con.close()


def clean_error(name: str, result: subprocess.CompletedProcess, needles: list[str], db: Path | None = None,
                before=None, seconds: float | None = None) -> None:
    """Check one bad-input case and report it."""
    problems = []
    if result.returncode == 0:
        problems.append("exit 0")
    lines = result.stderr.splitlines()
    if "Traceback" in result.stderr + result.stdout:
        problems.append("traceback")
    if len(lines) != 1 or not lines[0].startswith("lossdb: error: "):
        problems.append(f"stderr is not one 'lossdb: error:' line: {result.stderr.strip()[:300]!r}")
    problems += [f"{n!r} not named" for n in needles if not lines or n not in lines[0]]
    if result.stdout:
        problems.append(f"stdout: {result.stdout[:100]!r}")
    if db is not None and state(db) != before:
        problems.append("store changed" if before is not None else "store created")
    line = lines[0] if len(lines) == 1 else ""
    detail = "; ".join(problems) if problems else line.removeprefix("lossdb: error: ")[:150]
    if seconds is not None:
        detail += f" [{seconds:.1f} s]"
    report(name, not problems, detail)


def hold(path: Path, *, read_only: bool) -> subprocess.Popen:
    code = (f"import duckdb, time; c = duckdb.connect({str(path)!r}, read_only={read_only}); "
            "print('open', flush=True); time.sleep(3600)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    return holder


# --- corrupted copies of the real data --------------------------------------------------------------


def sentences(lines: list[str]) -> list[list[str]]:
    out, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def corrupt_copies(data: Path, model: Path, work: Path, limit: int) -> dict[str, Path]:
    text = data.read_text("utf-8")
    lines = text.splitlines()
    sents = sentences(lines)[:limit]
    late = len(sents) * 9 // 10  # a problem near the end: found before the model runs, not after
    made = {}

    def write(name: str, body: str | bytes) -> Path:
        path = work / name
        path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
        return path

    made["subset"] = write("subset.conllu", "\n\n".join("\n".join(s) for s in sents) + "\n")
    made["empty"] = write("empty.conllu", b"")
    made["binary"] = write("binary.conllu", (model / "model.safetensors").read_bytes()[:1 << 16])
    made["utf16"] = write("utf16.conllu", "\n".join(lines[:200]).encode("utf-16"))
    few = [list(s) for s in sents]
    few[late][0] = few[late][0].rsplit("\t", 1)[0].split("\t")[-1]  # the line keeps only its token
    made["few columns"] = write("fewcol.conllu", "\n\n".join("\n".join(s) for s in few) + "\n")
    tag = [list(s) for s in sents]
    tag[late][0] = tag[late][0].rsplit("\t", 1)[0] + "\tB-MISC"
    made["unknown tag"] = write("badtag.conllu", "\n\n".join("\n".join(s) for s in tag) + "\n")
    records = []
    for i, s in enumerate(sents[:300]):
        words = [line.split("\t")[-2] for line in s]
        tags = [line.split("\t")[-1] for line in s]
        if i == 250:
            tags = tags[:-1]
        records.append(json.dumps({"tokens": words, "ner_tags": tags}, ensure_ascii=False))
    made["lengths"] = write("lengths.jsonl", "\n".join(records) + "\n")
    return made


def slow_tokenizer_model(model: Path, work: Path) -> Path:
    from transformers import ByT5Tokenizer

    folder = work / "slow-model"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(model / name, folder / name)
    ByT5Tokenizer().save_pretrained(folder)
    return folder


# --- label files and exports (#17 items 4, 6, 7, 8, 12; #14's whole-file copy) ---------------------


def labels_content(path: Path):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                     for table in ("runs", "sequences", "label_versions", "sequence_labels", "version_quality"))
    finally:
        con.close()


def _regions(task: dict, label) -> None:
    for region in task["annotations"][0]["result"]:
        region["value"]["labels"] = [label(region["value"]["labels"][0])]


def label_and_export_cases(model: Path, subset: Path, store: Path, work: Path) -> None:
    db = work / "labels.duckdb"  # imports that succeed add versions: on a copy, never the base store
    shutil.copy(store, db)
    review = work / "review.json"
    exported = cli("export", "--run", "base", "--all", "--to", "label-studio", "--out", str(review), "--db", str(db))
    report("labels: export the base run for review", exported.returncode == 0, exported.stderr.strip()[:150])
    tasks = json.loads(review.read_text("utf-8"))
    with_entities = [t for t in tasks if t["annotations"][0]["result"]][:20]

    def refused_import(name, edit, needles):
        path = work / f"{name.split(':')[0].replace(' ', '-')}.json"
        copy = json.loads(json.dumps(with_entities))
        edit(copy)
        path.write_text(json.dumps(copy, ensure_ascii=False), "utf-8")
        before = labels_content(db)  # opening a store to write may rewrite its bytes: compare its rows
        clean_error(name, cli("import-labels", str(path), "--as", "bad", "--run", "base", "--db", str(db)), needles)
        report(f"{name}: the store's rows are unchanged", labels_content(db) == before)

    refused_import("labels: region labelled with a tag (B-PER), not a type",
                   lambda ts: _regions(ts[0], lambda t: f"B-{t}"), ["with the tag 'B-", "label it"])
    refused_import("labels: region labelled O", lambda ts: _regions(ts[0], lambda t: "O"),
                   ["marks no entity", "delete the region"])

    bom = work / "bom.conllu"  # the scored file itself, with a BOM, no ids: position or words match
    bom.write_bytes(b"\xef\xbb\xbf" + subset.read_bytes())
    result = cli("import-labels", str(bom), "--as", "bom", "--run", "base", "--db", str(db))
    report("labels: the scored CoNLL file with a BOM imports (0 differ from gold)",
           result.returncode == 0 and ", 0 differ from gold" in result.stderr, result.stderr.strip()[:200])

    # UTF-16 offsets in '😀 a 😀 a a': word 3's span 8:9 is also an 'a' (word 4) in code points
    emoji = work / "emoji.jsonl"
    emoji.write_text(json.dumps({"tokens": ["😀", "a", "😀", "a", "a"], "ner_tags": ["O"] * 5}) + "\n", "utf-8")
    made = cli("ingest", "-m", str(model), "-d", str(emoji), "--run", "emoji", "-q", "--db", str(db))
    text = "😀 a 😀 a a"
    regions = [{"from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": s, "end": s + 1, "text": "a", "labels": ["LOC"]}} for s in (3, 8)]
    ls = work / "utf16.json"
    ls.write_text(json.dumps([{"data": {"text": text, "seq_id": 0, "run": "emoji"},
                               "annotations": [{"result": regions}]}], ensure_ascii=False), "utf-8")
    result = cli("import-labels", str(ls), "--as", "utf16", "--run", "emoji", "--db", str(db))
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("SELECT labels FROM sequence_labels WHERE run_id = 'emoji' AND version = 'utf16'").fetchall()
    finally:
        con.close()
    want = [(["O", "B-LOC", "O", "B-LOC", "O"],)]
    report("labels: UTF-16 offsets decided per task ('😀 a 😀 a a' lands on words 1 and 3)",
           made.returncode == 0 and result.returncode == 0 and [(list(r[0]),) for r in got] == want,
           f"{result.stderr.strip()[:120]} {got}")

    precious = work / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("months of work")
    before = state(db)
    clean_error("export: hf-dataset --force into a folder lossdb did not write",
                cli("export", "--run", "base", "--to", "hf-dataset", "--all", "--out", str(precious), "--force",
                    "--db", str(db)), ["lossdb did not export"], db, before)
    report("export: ... and that folder is untouched", sorted(os.listdir(precious)) == ["thesis.tex"])
    clean_error("export: --out an existing folder with --force (jsonl)",
                cli("export", "--run", "base", "--to", "jsonl", "--all", "--out", str(precious), "--force",
                    "--db", str(db)), ["is a folder"], db, before)
    small = work / "small-disk"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        report("export: disk full (skipped: cannot mount a tmpfs here)", True)
        return
    try:
        for fmt, name in (("jsonl", "x.jsonl"), ("hf-dataset", "ds")):
            clean_error(f"export: disk full ({fmt}, 16 KiB tmpfs)",
                        cli("export", "--run", "base", "--to", fmt, "--all", "--out", str(small / name),
                            "--db", str(db)), ["no space left on the disk at"], db, before)
            report(f"export: ... no partial {fmt} output", os.listdir(small) == [], str(os.listdir(small)))
    finally:
        subprocess.run(["umount", str(small)], check=False)


# --- issue 17: what a hostile and a careless user found -------------------------------------------------


def defect_cases(work: Path, model: Path, subset: Path, store: Path) -> None:
    """One case per item of issue 17 that the defects work fixed, each on a copy of the base store."""
    import unicodedata

    def copy(name: str) -> Path:
        target = work / name
        shutil.copy(store, target)
        return target

    def write_sql(path: Path, *statements: str) -> None:
        con = duckdb.connect(str(path))
        try:
            for statement in statements:
                con.execute(statement)
        finally:
            con.close()

    # 2: --replace of a run with label versions asks what becomes of them, before scoring
    versions = copy("versions.duckdb")
    write_sql(versions, "INSERT INTO label_versions VALUES ('base', 'reviewed', now(), 'review.json', 1)",
              "INSERT INTO sequence_labels SELECT run_id, 'reviewed', seq_id, labels FROM sequences "
              "WHERE run_id = 'base' AND seq_id = 0")
    before = state(versions)
    t0 = time.monotonic()
    result = cli("ingest", "-m", str(model), "-d", str(subset), "--run", "base", "--replace", "--db", str(versions))
    clean_error("issue 17.2: ingest --replace of a run with label versions", result,
                ["'reviewed'", "--label-versions"], versions, before, time.monotonic() - t0)
    # 3: a merge does not replace (and so drop the versions of) the target's run
    result = cli("merge", "--replace", "--db", str(versions), str(store))
    clean_error("issue 17.3: merge --replace over a run with label versions", result, ["'reviewed'", "new --db"],
                versions, before)
    # 5: a path with glob characters names one file
    (work / "review1.csv").write_text("seq,annotator\n0,anna\n", "utf-8")
    result = cli("annotate", str(work / "review[1].csv"), "--key", "seq", "--match", "seq_id", "--db", str(store))
    clean_error("issue 17.5: annotate 'review[1].csv' (only review1.csv exists)", result, ["review[1].csv"], store,
                state(store))
    # 9: a tag name with '$...$' (not valid math text) is drawn as text
    dollar = copy("dollar.duckdb")
    write_sql(dollar, "UPDATE runs SET label_names = list_transform(label_names, lambda x: replace(x, 'PER', '$\\foo$'))")
    out = work / "dollar.svg"
    result = cli("plot", "confusion", "--db", str(dollar), "--out", str(out))
    report("issue 17.9: plot confusion with a tag B-$\\foo$", result.returncode == 0 and "$\\foo$" in out.read_text("utf-8"),
           result.stderr.strip()[:200])
    # 10: a run name with terminal escapes is shown escaped in tables, kept in JSON
    evil = copy("evil.duckdb")
    write_sql(evil, "UPDATE runs SET model = 'evil\x1b]0;pwned\x07\x1b[2J'")
    table, as_json = cli("runs", "--db", str(evil)), cli("runs", "--format", "json", "--db", str(evil))
    ok = ("\x1b" not in table.stdout and "evil\\x1b]0;pwned\\x07\\x1b[2J" in table.stdout
          and json.loads(as_json.stdout)[0]["model"] == "evil\x1b]0;pwned\x07\x1b[2J")
    report("issue 17.10: terminal escapes in a table are shown escaped", ok, table.stderr.strip()[:200])
    # 11: search --word finds a word in either Unicode normal form
    con = duckdb.connect(str(store), read_only=True)
    counted = con.execute("SELECT w, count(*) FROM (SELECT unnest(words) AS w FROM sequences WHERE run_id = 'base') "
                          "GROUP BY w ORDER BY count(*) DESC, w").fetchall()
    con.close()
    word = next(w for w, _ in counted if unicodedata.normalize("NFD", w) != w)
    found = [cli("search", "--word", unicodedata.normalize(form, word), "--n", "100000", "--format", "json", "--db",
                 str(store)) for form in ("NFC", "NFD")]
    counts = [len(json.loads(r.stdout)) or None if r.returncode == 0 else None for r in found]
    report(f"issue 17.11: search --word {word!r} composed and decomposed", counts[0] is not None and counts[0] == counts[1],
           f"{counts[0]} and {counts[1]} sequences")
    # 12: a store file cut short, and a full disk under a figure
    cut = copy("cut.duckdb")
    with cut.open("r+b") as f:
        f.truncate(cut.stat().st_size // 2)
    clean_error("issue 17.12: a truncated store file (top)", cli("top", "--db", str(cut)), ["is damaged"], cut, state(cut))
    disk = work / "small-disk-plot"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode == 0:
        try:
            result = cli("plot", "confusion", "--db", str(store), "--out", str(disk / "cm.png"))
            clean_error("issue 17.12: plot onto a full disk", result, ["no space left on the disk at"])
            report("issue 17.12: ... leaves no file", list(disk.iterdir()) == [])
        finally:
            subprocess.run(["umount", str(disk)], capture_output=True)
    else:
        print("skip  issue 17.12: plot onto a full disk (cannot mount a tmpfs here)", flush=True)
    # 13: an existing output file is replaced only with --force
    existing = work / "report.html"
    existing.write_text("mine", "utf-8")
    result = cli("report", "--n", "2", "--out", str(existing), "--db", str(store))
    clean_error("issue 17.13: report --out an existing file", result, ["already exists", "--force"], store, state(store))
    report("issue 17.13: ... the file is unchanged", existing.read_text("utf-8") == "mine")


# --- the battery ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHARED / "models" / "minilm-panx-de"))
    parser.add_argument("--data", default=str(SHARED / "data" / "panx-de" / "validation.conllu"))
    parser.add_argument("--limit", type=int, default=1000, help="sentences per ingest (the kill cases score them)")
    parser.add_argument("--work", default=None, help="scratch folder [default: a new temporary one]")
    args = parser.parse_args()
    model, data = Path(args.model), Path(args.data)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="lossdb-battery-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"model {model}\ndata  {data} (first {args.limit} sentences)\nwork  {work}\n", flush=True)
    files = corrupt_copies(data, model, work, args.limit)
    subset = files["subset"]

    store = work / "store.duckdb"
    started = time.monotonic()
    base = cli("ingest", "-m", str(model), "-d", str(subset), "--run", "base", "-q", "--db", str(store))
    if base.returncode != 0:
        report("setup: ingest the base run", False, base.stderr.strip()[-300:])
        return 1
    report("setup: ingest the base run", True, f"{base.stderr.strip()} [{time.monotonic() - started:.0f} s]")
    absent = work / "absent.duckdb"

    def ingest_case(name, model_arg, data_arg, needles, db=store, extra=(), env=None):
        before = state(db)
        t0 = time.monotonic()
        result = cli("ingest", "-m", str(model_arg), "-d", str(data_arg), "--run", "bad", "--db", str(db), *extra,
                     env=env)
        clean_error(name, result, needles, db, before, time.monotonic() - t0)

    # models
    ingest_case("model: path does not exist", work / "no-such-model", subset, ["does not exist"])
    ingest_case("model: hub-style name, not cached, offline", "no-such-model-xyz", subset, ["does not exist"],
                env={"HF_HUB_OFFLINE": "1"})
    (work / "empty-folder").mkdir()
    ingest_case("model: folder that is not a model", work / "empty-folder", subset, ["not a model folder"])
    ingest_case("model: a file, not a folder", subset, subset, ["is a file"])
    (work / "config-only").mkdir()
    shutil.copy(model / "config.json", work / "config-only" / "config.json")
    ingest_case("model: config.json without weights", work / "config-only", subset, ["no weights"])
    ingest_case("model: slow tokenizer without word alignment", slow_tokenizer_model(model, work), subset,
                ["slow tokenizer"])
    # data
    ingest_case("data: file does not exist", model, work / "missing.conllu", ["does not exist"])
    ingest_case("data: empty file", model, files["empty"], ["is empty"])
    ingest_case("data: binary file", model, files["binary"], ["not a", "text file"])
    ingest_case("data: UTF-16 text", model, files["utf16"], ["not a UTF-8 text file"])
    ingest_case("data: a line with too few columns (near the end)", model, files["few columns"],
                ["expected a token and a tag"])
    ingest_case("data: a tag the model does not know (near the end)", model, files["unknown tag"],
                ["'B-MISC'", "O, B-PER, I-PER, B-ORG, I-ORG, B-LOC, I-LOC"])
    ingest_case("data: tokens and tags of different lengths", model, files["lengths"], ["words but", "tags"])
    ingest_case("data: ... and a new store is not created", model, files["unknown tag"], ["'B-MISC'"], db=absent)
    # stores
    ingest_case("store: folder does not exist (ingest)", model, subset, ["does not exist"],
                db=work / "no" / "folder" / "x.duckdb")
    not_db = work / "not-a-db.duckdb"
    not_db.write_text("hello\n" * 100)
    lite = work / "sqlite.duckdb"
    con = sqlite3.connect(lite)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    ingest_case("store: a text file, not DuckDB (ingest)", model, subset, ["not a DuckDB database"], db=not_db)
    ingest_case("store: a SQLite file (ingest)", model, subset, ["SQLite"], db=lite)
    for command in (["top"], ["sql", "SELECT 1"]):
        before = state(not_db)
        clean_error(f"store: a text file, not DuckDB ({command[0]})", cli(*command, "--db", str(not_db)),
                    ["not a DuckDB database"], not_db, before)
    clean_error("store: a SQLite file (top)", cli("top", "--db", str(lite)), ["SQLite"], lite, state(lite))
    for command in (["top"], ["runs"], ["sql", "SELECT 1"]):
        clean_error(f"store: readers never create a file ({command[0]})", cli(*command, "--db", str(absent)),
                    ["no lossdb store"], absent, None)
    clean_error("store: folder does not exist (top)", cli("top", "--db", str(work / "no" / "x.duckdb")),
                ["does not exist"])
    # locks
    holder = hold(store, read_only=False)
    try:
        for command in (["top"], ["sql", "SELECT 1", "--write"]):
            before = state(store)
            clean_error(f"lock: another process writing ({' '.join(command[:1] + command[2:])})",
                        cli(*command, "--db", str(store)), ["busy", f"PID {holder.pid}"], store, before)
        ingest_case("lock: another process writing (ingest)", model, subset, ["busy", f"PID {holder.pid}"])
    finally:
        holder.kill()
        holder.wait()
    holder = hold(store, read_only=True)
    try:
        ingest_case("lock: a reader holds the store: ingest refused before scoring", model, subset,
                    ["busy", f"PID {holder.pid}"])
        top = cli("top", "--n", "1", "--db", str(store))
        report("lock: ... while readers still read", top.returncode == 0, top.stderr.strip()[:200])
    finally:
        holder.kill()
        holder.wait()
    # usage
    for n in ("0", "-1", "abc"):
        clean_error(f"usage: --n {n}", cli("top", "--n", n, "--db", str(store)), ["--n"], store, state(store))
    clean_error("usage: unknown run", cli("top", "--run", "no-such-run", "--db", str(store)),
                ["'no-such-run'", "'base'"], store, state(store))
    clean_error("usage: SQL that does not parse", cli("sql", "SELEC * FROM tokens", "--db", str(store)),
                ["does not parse"], store, state(store))
    for statement in ("DROP TABLE tokens", "DELETE FROM tokens", "UPDATE tokens SET loss = 0",
                      "INSERT INTO runs SELECT * FROM runs"):
        clean_error(f"sql without --write: {statement.split()[0]}", cli("sql", statement, "--db", str(store)),
                    ["read-only", "--write"], store, state(store))
    # sql without --write: nothing but reading runs (checked statement by statement before any runs)
    written = work / "written"
    issue_sequence = (f"ATTACH ':memory:' AS mm (READ_WRITE); USE mm; DETACH store; ATTACH '{store}' AS rw "
                      "(READ_WRITE); DELETE FROM rw.tokens; DELETE FROM rw.runs")
    for label, statement in (("COPY TO", f"COPY tokens TO '{written}.csv'"),
                             ("COPY over the store", f"COPY (SELECT 1) TO '{store}' (FORMAT csv)"),
                             ("EXPORT", f"EXPORT DATABASE '{written}'"),
                             ("ATTACH", f"ATTACH '{written}.duckdb' AS other (READ_WRITE)"),
                             ("INSTALL", "INSTALL httpfs"), ("SET", "SET threads = 1"), ("CHECKPOINT", "CHECKPOINT"),
                             ("ATTACH / USE / DETACH / DELETE", issue_sequence)):
        clean_error(f"sql without --write: {label}", cli("sql", statement, "--db", str(store)), ["--write"],
                    store, state(store))
        if any(work.glob("written*")):
            report(f"sql without --write: {label} wrote no file", False, str(sorted(work.glob("written*"))))
    clean_error("export --ids: the same sequence", cli("export", "--to", "conll", "--out", f"{written}.conll", "--ids",
                                                       issue_sequence, "--db", str(store)),
                ["--write"], store, state(store))
    # foreign DuckDB files: refused before scoring, never written over
    foreign = work / "app.duckdb"
    con = duckdb.connect(str(foreign))
    con.execute("CREATE TABLE customers (id INTEGER)")
    con.close()
    ingest_case("store: another application's DuckDB file (ingest, before scoring)", model, subset,
                ["another application's DuckDB file", "--foreign-db"], db=foreign)
    clean_error("store: another application's DuckDB file (top)", cli("top", "--db", str(foreign)),
                ["not a lossdb store"], foreign, state(foreign))
    own_runs = work / "app-runs.duckdb"
    con = duckdb.connect(str(own_runs))
    con.execute("CREATE TABLE runs (id INTEGER)")
    con.close()
    ingest_case("store: --foreign-db into a file with its own runs table (before scoring)", model, subset,
                ["has its own", "runs (table)"], db=own_runs, extra=("--foreign-db",))
    # a store of lossdb 0.1.0: readers name the one command, upgrade keeps top
    release = work / "release-0.1.0.duckdb"
    shutil.copy(ROOT / "tests" / "fixtures" / "release-0.1.0.duckdb", release)
    clean_error("store: written by lossdb 0.1.0 (top asks for upgrade)", cli("top", "--db", str(release)),
                ["lossdb upgrade --db"], release, state(release))
    upgraded = cli("upgrade", "--db", str(release))
    top_after = cli("top", "--n", "5", "-f", "json", "--db", str(release))
    expected = [r["seq_id"] for r in json.loads((ROOT / "tests" / "fixtures" / "release-0.1.0-top.json").read_text())]
    report("store: lossdb upgrade, then top as 0.1.0 gave it",
           upgraded.returncode == 0 and top_after.returncode == 0
           and [r["seq_id"] for r in json.loads(top_after.stdout)] == expected,
           "; ".join(upgraded.stderr.strip().splitlines())[:200])
    duckdb_cli = shutil.which("duckdb", path=str(Path(sys.executable).parent))
    if duckdb_cli:
        for name, db in (("a store ingest wrote", store), ("the upgraded 0.1.0 store", release)):
            read = subprocess.run([duckdb_cli, "-readonly", "-json", str(db), "-c",
                                   "SELECT seq_id FROM top_sequences(3)"], capture_output=True, text=True)
            report(f"store: the duckdb CLI {read.stdout and 'reads' or 'cannot read'} {name}",
                   read.returncode == 0 and len(json.loads(read.stdout or "[]")) == 3, read.stderr.strip()[:150])
    # #17 item 1: two first ingests of one run name into a new file; the winner's store survives
    race = work / "race.duckdb"
    lost = []
    for attempt in range(5):
        race.unlink(missing_ok=True)
        racers = [start("ingest", "-m", str(model), "-d", str(subset), "--limit", "20", "--run", "same", "-q",
                        "--db", str(race)) for _ in range(2)]
        codes = [r.wait() for r in racers]
        if not race.exists() or sorted(codes) != [0, 4]:
            lost.append(f"attempt {attempt}: exits {codes}, store {'there' if race.exists() else 'GONE'}")
    report("race: two first ingests of one run: the winner's store survives (5 tries)", not lost, "; ".join(lost))

    before = state(store)
    refused = cli("ingest", "-m", str(model), "-d", str(subset), "--run", "base", "--db", str(store))
    clean_error("runs: ingest under a complete run's name without --replace", refused, ["'base'", "--replace"],
                store, before)

    label_and_export_cases(model, subset, store, work)
    defect_cases(work, model, subset, store)

    # kills
    before = content(store)
    kill_args = ["ingest", "-m", str(model), "-d", str(subset), "--run", "killed", "--batch-size", "8", "-q",
                 "--db", str(store)]

    def after_kill(name: str, killed: str) -> bool:
        problems = []
        if content(store) != before:
            problems.append("earlier runs changed")
        if killed in run_ids(store):
            problems.append("killed run visible")
        for command in (["runs"], ["top", "--n", "1"], ["sql", "SELECT count(*) FROM sequence_losses"]):
            result = cli(*command, "--db", str(store))
            if result.returncode != 0 or killed in result.stdout:
                problems.append(f"{command[0]} after the kill: {result.stderr.strip()[:100]}")
        report(name, not problems, "; ".join(problems) or "earlier run unchanged, killed run invisible, file opens")
        return not problems

    ingest = start(*kill_args)
    deadline = time.monotonic() + 600
    while staging_folder(ingest.pid) is None and ingest.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3)
    scoring = ingest.poll() is None
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    report("kill: SIGKILL landed while scoring", scoring)
    after_kill("kill: SIGKILL during scoring", "killed")

    for point in ("commit-deleted", "commit-tokens", "commit-before"):
        result = cli(*kill_args, env={"LOSSDB_FAULT": point})
        report(f"kill: SIGKILL inside the commit ({point})", result.returncode == -signal.SIGKILL,
               f"exit {result.returncode}")
        after_kill(f"kill: ... after {point}", "killed")
    result = cli("ingest", "-m", str(model), "-d", str(subset), "--run", "base", "--replace", "--db", str(store),
                 env={"LOSSDB_FAULT": "commit-tokens"})
    report("kill: SIGKILL while --replace commits", result.returncode == -signal.SIGKILL)
    after_kill("kill: ... the replaced run is intact", "killed")

    ingest = start(*kill_args[:-2], "--db", str(store))
    while ingest.poll() is None:
        folder = staging_folder(ingest.pid)
        try:
            with (folder / "tokens.parquet").open("rb") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() > 8:
                    f.seek(-4, os.SEEK_END)
                    if f.read() == b"PAR1":
                        break
        except (OSError, TypeError):
            pass
        time.sleep(0.002)
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    if "killed" in run_ids(store):
        con = duckdb.connect(str(store), read_only=True)
        n = con.execute("SELECT count(*) FROM sequences WHERE run_id = 'killed'").fetchone()[0]
        con.close()
        report("kill: SIGKILL as the commit starts (landed after COMMIT: all rows there)", n == args.limit, f"{n} rows")
    else:
        after_kill("kill: SIGKILL as the commit starts (landed before COMMIT)", "killed")
        t0 = time.monotonic()
        rerun = cli(*kill_args)
        report("kill: the same ingest then runs to completion", rerun.returncode == 0 and "killed" in run_ids(store),
               f"{rerun.stderr.strip()[:200]} [{time.monotonic() - t0:.0f} s]")

    failed = [name for name, ok, _ in results if not ok]
    print(f"\n{len(results) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return len(failed)


if __name__ == "__main__":
    sys.exit(main())
