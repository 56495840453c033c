"""Skill-name similarity: how close a claimed skill is to a needed one when they are not the same
taxonomy entry ("AI upskilling" for "Corporate training"). Names are encoded once per process."""

from __future__ import annotations

import threading

import numpy as np

from ..encoder import active_model, get_encoder

_lock = threading.Lock()
_cache: dict[tuple[str, str], np.ndarray] = {}
_MAX_CACHE = 50_000


def skill_vectors(names: set[str]) -> dict[str, np.ndarray]:
    """Unit vectors of skill names for the active model, encoding only the ones not seen yet."""
    key = active_model().key
    missing = sorted(n for n in names if (key, n) not in _cache)
    if missing:
        vectors = get_encoder().encode(missing)
        with _lock:
            if len(_cache) + len(missing) > _MAX_CACHE:
                _cache.clear()
            for name, vec in zip(missing, vectors, strict=True):
                _cache[(key, name)] = vec
    return {n: _cache[(key, n)] for n in names}
