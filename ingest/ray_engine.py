"""`lossdb ingest --engine ray`: score on a pool of Ray actors, commit as a plain ingest does.

The driver (this process) reads the source with lossdb's own readers (sources.py) and cuts it
into chunks of consecutive sequences; the chunks go into Ray's object store as Arrow tables
and through `ray.data` `map_batches` to a pool of actors (`ChunkScorer`), each of which loads
the model once (on its own GPU with --gpus-per-worker) and scores a chunk exactly as the local
engine does (score_steps.score_chunk: alignment, length-sorted batches, the backend's forward).
An actor writes the chunk's token and sequence rows as two Parquet parts into the staging
location (a local folder on one machine; on a cluster a shared folder or an object-store URI,
`--staging`), named by chunk so that a retried chunk overwrites its own parts. The driver then
commits the parts with writer.commit, in one transaction: same rows, same run record (with
the engine noted), same all-or-nothing guarantee.

A worker that dies (killed, out of memory, its node lost) is restarted by Ray and its chunk
retried, up to RETRIES times; after that the ingest fails with one line and the store unchanged.
"""
from __future__ import annotations

import logging
import math
import os
import shutil
import socket
import signal
import tempfile
import threading
import uuid
import warnings
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import ray
import ray.data

from lossdb.errors import EngineError, LossdbError, UsageError, first_line

from . import score_steps, writer
from .sources import Example, Source

# How often Ray restarts a dead worker and retries its chunk before the ingest gives up.
RETRIES = 3
# A worker takes a small share of the data at a time, so that a pool stays busy to the end and
# a retry repeats little; a large dataset still gets the local engine's chunk size.
CHUNKS_PER_WORKER = 4
CPUS_PER_WORKER = 1


class StagedParts:
    """The staging location of one Ray ingest, as writer.commit reads a staged run.

    `write_to` is where the workers write (a local folder, or a URI on a shared store);
    `folder` is the local folder the commit reads, the same folder unless `write_to` is remote,
    in which case the parts are copied here once scoring is done.
    """

    def __init__(self, staging: str | None) -> None:
        self.remote = _is_remote(staging)
        parent = None if staging is None or self.remote else str(_local_path(staging))
        if parent is None:  # in a shared folder, a pid says nothing about other machines' ingests
            writer.remove_stale_staging()
        self.folder = Path(tempfile.mkdtemp(prefix=writer.STAGING_PREFIX, dir=parent))
        (self.folder / "pid").write_text(str(os.getpid()))  # so remove_stale_staging knows its owner
        if self.remote:
            self.write_to = f"{staging.rstrip('/')}/{writer.STAGING_PREFIX}{uuid.uuid4().hex}"
        else:
            self.write_to = str(self.folder)
        self.tokens_path = self.folder / "tokens-*.parquet"
        self.sequences_path = self.folder / "sequences-*.parquet"
        self.n_sequences = self.n_tokens = self.n_windowed = self.n_truncated = 0

    def fetch(self) -> None:
        """Bring remote parts to the local folder the commit reads."""
        if self.remote:
            fs, path = pafs.FileSystem.from_uri(self.write_to)
            pafs.copy_files(path, str(self.folder), source_filesystem=fs,
                            destination_filesystem=pafs.LocalFileSystem())

    def close(self) -> None:
        """Nothing to flush: every part was closed by the worker that wrote it."""

    def discard(self) -> None:
        if self.remote:
            try:
                fs, path = pafs.FileSystem.from_uri(self.write_to)
                fs.delete_dir(path)
            except (OSError, pa.ArrowException):
                pass  # never written, or already gone
        shutil.rmtree(self.folder, ignore_errors=True)


def check(*, ray_address: str | None, workers: int | None, gpus_per_worker: float, staging: str | None) -> None:
    """The Ray options, checked before anything is read or started."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}", "leave it out for one per CPU (or GPU)")
    if gpus_per_worker < 0:
        raise UsageError(f"--gpus-per-worker must be 0 or more, not {gpus_per_worker}", "e.g. --gpus-per-worker 1")
    if ray_address is not None and not ray_address.strip():
        raise UsageError("--ray-address is empty", "use auto, HOST:PORT or ray://HOST:PORT")
    if not ray.is_initialized():  # (once joined, ray.init is not called again)
        _check_reachable(ray_address or os.environ.get("RAY_ADDRESS"))
    if staging is None:
        return
    if _is_remote(staging):
        try:
            pafs.FileSystem.from_uri(staging)
        except (pa.ArrowException, ValueError, OSError) as e:
            raise UsageError(f"--staging {staging} cannot be opened: {first_line(e)}",
                             "pass a shared folder, or a URI pyarrow can open (s3://, gs://, hdfs://)") from None
    elif not _local_path(staging).is_dir():
        raise UsageError(f"--staging folder {staging} does not exist", "create it, or pass another folder")


def score(staged: StagedParts, model: str, source: Source, examples, n_expected: int | None, *, new_bar,
          ray_address: str | None, workers: int | None, gpus_per_worker: float, staging: str | None,
          device: str, dtype: str, backend: str, max_length: int | None, overflow: str, stride: int | None,
          batch_size: int, chunk_size: int) -> dict:
    """Score `examples` on Ray into `staged`; returns what the run record keeps of the model
    (as pipeline's local scorer does), with the engine's own parameters under "engine"."""
    _check_model_options(model, device=device, max_length=max_length, stride=stride)
    started_here = _connect(ray_address)
    try:
        _check_cluster(staging)
        resources = ray.cluster_resources()
        _check_gpus(resources.get("GPU", 0), gpus_per_worker, device)
        if workers is None:
            workers = int(resources.get("GPU", 0) // gpus_per_worker) if gpus_per_worker \
                else int(resources.get("CPU", 1) // CPUS_PER_WORKER)
            workers = max(workers, 1)
        size = chunk_size if n_expected is None else min(chunk_size, max(1, math.ceil(
            n_expected / (workers * CHUNKS_PER_WORKER))))
        refs, n_chunks, n_rows = [], 0, 0
        for index, chunk in enumerate(score_steps.chunks(examples, size)):
            refs.append(ray.put(_chunk_table(index, chunk)))
            n_chunks, n_rows = n_chunks + 1, n_rows + len(chunk)
        if not refs:
            return {}
        bar = new_bar()
        scorer_options = dict(dataset_labels=source.label_names, device=device, dtype=dtype, backend=backend,
                              max_length=max_length, overflow=overflow, stride=stride, batch_size=batch_size,
                              threads=CPUS_PER_WORKER, write_to=staged.write_to, fault=_fault_request())
        with warnings.catch_warnings():
            # Ray Data restarts actors and retries their tasks without end by default; a bound
            # (a chunk that kills every worker, say) is set through actor options that Ray 2.60
            # calls deprecated, with no named replacement yet (pyproject pins ray below 2.64).
            warnings.simplefilter("ignore", DeprecationWarning)
            # A batch is one chunk: every chunk but the last has `size` rows and Ray Data bundles a
            # map's input in order. (An integer batch_size is required with num_gpus.)
            dataset = ray.data.from_arrow_refs(refs).map_batches(
                ChunkScorer, fn_constructor_args=(model,), fn_constructor_kwargs=scorer_options,
                batch_size=size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=workers),
                num_cpus=CPUS_PER_WORKER, num_gpus=gpus_per_worker or None,
                max_restarts=RETRIES, max_task_retries=RETRIES)
        done: dict[int, dict] = {}
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
                for row in batch.to_pylist():
                    if row["chunk"] not in done:
                        bar.update(row["n_sequences"])
                    done[row["chunk"]] = row
        except Exception as e:  # Ray wraps what went wrong in its own exception types
            raise _explain(e) from None
        bar.close()
        rows = list(done.values())
        for key in ("n_sequences", "n_tokens", "n_windowed", "n_truncated"):
            setattr(staged, key, sum(r[key] for r in rows))
        if sorted(done) != list(range(n_chunks)) or staged.n_sequences != n_rows:  # (a chunk split in two batches)
            raise EngineError(f"the Ray workers returned {staged.n_sequences} of {n_rows} sequences",
                              "the store is unchanged; run the ingest again")
        staged.fetch()
        first = rows[0]
        return {"revision": first["revision"], "label_names": first["label_names"], "device": first["device"],
                "dtype": first["dtype"], "max_length": first["max_length"], "versions": dict(zip(first["version_names"], first["versions"])),
                "engine": {"workers": workers, "gpus_per_worker": gpus_per_worker, "ray_chunk_size": size,
                           "ray": ray.__version__}}
    finally:
        if started_here:
            ray.shutdown()


class ChunkScorer:
    """A Ray actor: loads the model once, then scores chunks and writes their Parquet parts."""

    def __init__(self, model: str, *, dataset_labels, device, dtype, backend, max_length, overflow, stride,
                 batch_size, threads, write_to, fault) -> None:
        import torch

        torch.set_num_threads(threads)
        self.failed = None
        try:
            self.loaded = score_steps.load_scorer(model, device=device, dtype=dtype, backend=backend)
            self.max_length = score_steps.checked_max_length(self.loaded, max_length, stride)
        except LossdbError as e:
            # Raised here it would end the actor, which Ray restarts RETRIES times and then reports
            # with the error's text alone; raised from __call__ it reaches the driver as itself.
            self.failed = e
            return
        labels_only = Source("", None, dataset_labels, _open=lambda: iter(()))
        self.to_id = score_steps.label_mapper(labels_only, self.loaded.label_names)
        self.facts = score_steps.scorer_facts(self.loaded, self.max_length)
        self.options = (overflow, stride, batch_size)
        self.fs, self.root = pafs.FileSystem.from_uri(write_to) if _is_remote(write_to) \
            else (pafs.LocalFileSystem(), write_to)
        self.fs.create_dir(self.root, recursive=True)
        self.fault = fault

    def __call__(self, batch: pa.Table) -> pa.Table:
        if self.failed is not None:
            raise self.failed
        rows = []
        for index in sorted(set(batch["chunk"].to_pylist())):  # one chunk per batch, unless Ray merged some
            part = batch.filter(pc.equal(batch["chunk"], index))
            chunk = [(seq_id, Example(words, tags, source_id, where)) for seq_id, words, tags, source_id, where in zip(
                *(part[c].to_pylist() for c in ("seq_id", "words", "tags", "source_id", "where")))]
            overflow, stride, batch_size = self.options
            scored = score_steps.score_chunk(chunk, self.loaded, self.to_id, self.max_length, overflow, stride, batch_size)
            tokens = writer._token_table(scored)
            self._write(tokens, f"tokens-{index:08d}.parquet")
            self._fault()
            self._write(writer._sequence_table(scored), f"sequences-{index:08d}.parquet")
            rows.append({"chunk": index, "n_sequences": len(scored), "n_tokens": tokens.num_rows,
                         "n_windowed": sum(s.n_windows > 1 for s in scored),
                         "n_truncated": sum(s.truncated for s in scored)})
        facts = self.facts
        return pa.Table.from_pylist([{
            **row, "revision": facts["revision"], "label_names": facts["label_names"], "device": facts["device"],
            "dtype": facts["dtype"], "max_length": facts["max_length"], "version_names": list(facts["versions"]),
            "versions": list(facts["versions"].values())} for row in rows])

    def _write(self, table: pa.Table, name: str) -> None:
        """Write a part under a temporary name, then rename: a worker killed mid-write leaves no
        part that looks whole, and its retry writes the same name again."""
        final = f"{self.root}/{name}"
        partial = f"{final}.{os.getpid()}.partial"
        pq.write_table(table, partial, filesystem=self.fs, compression="snappy")
        self.fs.move(partial, final)

    def _fault(self) -> None:
        """Crash-test hook (tests/test_ray_engine.py): `LOSSDB_FAULT=ray-worker:PATH` makes the first
        worker that manages to delete PATH kill itself between a chunk's two parts;
        `LOSSDB_FAULT=ray-worker` makes every worker do so."""
        if self.fault == "ray-worker":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.fault and self.fault.startswith("ray-worker:"):
            try:
                os.unlink(self.fault.partition(":")[2])
            except FileNotFoundError:
                return
            os.kill(os.getpid(), signal.SIGKILL)


def _chunk_table(index: int, chunk) -> pa.Table:
    return pa.table({
        "chunk": pa.array([index] * len(chunk), pa.int64()),
        "seq_id": pa.array([seq_id for seq_id, _ in chunk], pa.int64()),
        "words": [e.words for _, e in chunk],
        "tags": [e.tags for _, e in chunk],
        "source_id": pa.array([e.source_id for _, e in chunk], pa.string()),
        "where": pa.array([e.where for _, e in chunk], pa.string()),  # for a data error's message
    })


def _connect(address: str | None) -> bool:
    """Join the cluster at `address` ($RAY_ADDRESS when None; a new local one when neither is
    set); True when this call started Ray, which is then shut down after the ingest."""
    started = not ray.is_initialized()
    if started:
        sigterm = signal.getsignal(signal.SIGTERM)
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = address or os.environ.get("RAY_ADDRESS")
            raise EngineError(f"cannot reach the Ray cluster at {where}: {first_line(e)}",
                              "start one with `ray start --head`, or leave out --ray-address (and RAY_ADDRESS) "
                              "for a local one") from None
        finally:
            # ray.init puts its own SIGTERM handler in (which exits 15 with a stack dump); lossdb's
            # (cli errors(sigterm=True)) stops the ingest as Ctrl-C does, the store unchanged.
            if sigterm is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, sigterm)
    # ingest shows its own progress, and its own one-line error (Ray Data would log a traceback)
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    # A worker's error as itself (a lossdb error: bad data), not as Ray Data's UserCodeException,
    # whose cause does not travel back to the driver.
    context.raise_original_map_exception = True
    return started


CONNECT_SECONDS = 5.0


def _check_reachable(address: str | None) -> None:
    """A HOST:PORT (or ray://HOST:PORT) that nothing answers on is refused at once: ray.init
    would retry it for minutes, printing only Ray's own log lines."""
    if not address or address == "auto" or address == "local":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise EngineError(f"--ray-address {address!r} is not HOST:PORT", "use auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise EngineError(f"cannot reach the Ray cluster at {address}: {e.strerror or first_line(e)}",
                          "start one with `ray start --head`, check the address, or leave out --ray-address "
                          "(and RAY_ADDRESS) for a local one") from None


def _check_cluster(staging: str | None) -> None:
    """A temporary folder on this machine is only reachable by workers on this machine."""
    if staging is not None:
        return
    here = ray.util.get_node_ip_address()
    others = [n for n in ray.nodes() if n.get("Alive") and n.get("NodeManagerAddress") != here]
    if others:
        raise UsageError(f"the Ray cluster has {len(others)} other machine(s), which cannot reach this one's "
                         "temporary folder", "pass --staging a folder or URI that every machine can reach")


def _check_model_options(model: str, *, device: str, max_length: int | None, stride: int | None) -> None:
    """What the plain engine refuses before scoring (a device it does not know, a max_length or
    stride the model cannot take), refused here in its words before Ray starts, rather than by
    every worker after it loaded the model. Only the config and tokenizer load here; a device
    cuda is for the cluster's GPUs to answer (_check_gpus), not this machine's."""
    from transformers import AutoConfig, AutoTokenizer

    from . import scoring

    if not device.startswith("cuda"):
        scoring._device(device)
    if max_length is None and stride is None:
        return
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        config = AutoConfig.from_pretrained(model)
    except Exception:  # (transformers raises many kinds) the workers' scoring.load says why, in one line
        return
    shape = SimpleNamespace(tokenizer=tokenizer, max_length=scoring._max_length(tokenizer, SimpleNamespace(config=config)))
    score_steps.checked_max_length(shape, max_length, stride)


def _check_gpus(cluster_gpus: float, gpus_per_worker: float, device: str) -> None:
    """Ray would wait without end for GPUs that the cluster does not have."""
    if gpus_per_worker > cluster_gpus:
        raise UsageError(f"--gpus-per-worker {gpus_per_worker:g} asks for more GPUs than the Ray cluster has "
                         f"({cluster_gpus:g})", "leave out --gpus-per-worker to score on CPUs, or add machines with "
                         "GPUs to the cluster")
    if device.startswith("cuda") and not cluster_gpus:
        raise UsageError(f"--device {device} asks for a GPU, and the Ray cluster has none", "use --device cpu (or auto)")


def _fault_request() -> str | None:
    fault = os.environ.get("LOSSDB_FAULT")
    return fault if fault and fault.startswith("ray-worker") else None


def _explain(error: BaseException) -> LossdbError:
    """A lossdb error raised in a worker (bad data, a model that cannot load) as itself;
    anything else (a worker lost RETRIES times, a cluster gone) as one EngineError line."""
    seen, stack = set(), [error]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ray.exceptions.RayTaskError):  # a worker's error, in Ray's wrapper: its .cause
            stack.append(e.cause)  # (the wrapper passes for the cause's class too, but prints Ray's traceback)
        elif isinstance(e, LossdbError):
            return e
        else:
            stack += [e.__cause__, e.__context__]
    return EngineError(f"the Ray engine failed: {first_line(error)}",
                       "the store is unchanged; check the cluster (`ray status`) and run the ingest again")


def _is_remote(location: str | None) -> bool:
    """A URI (s3://, gs://, hdfs://, file://) is written through pyarrow's file systems and
    copied back for the commit; a plain path is a folder this machine (and, on a cluster, every
    machine: a shared file system) reads directly."""
    return location is not None and "://" in location


def _local_path(location: str) -> Path:
    return Path(location).expanduser().resolve()
