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


MAX_ALIASES = 20


def skill_texts(skill_ids: set[int], names: dict[int, str]) -> dict[int, list[str]]:
    """The canonical name and the taxonomy's aliases of each skill: every way people name it."""
    from marketplace.models import Skill

    texts = {sid: [names[sid]] for sid in skill_ids}
    for sid, name, aliases in Skill.objects.filter(id__in=skill_ids).values_list("id", "name", "aliases"):
        texts[sid] = list(dict.fromkeys([names.get(sid, name), name, *aliases[:MAX_ALIASES]]))
    return texts


def skill_similarities(need_ids: list[int], claim_ids: set[int], names: dict[int, str]) -> dict[int, dict[int, float]]:
    """For each needed skill, the cosine to each claimed skill: the best pair over names and aliases."""
    texts = skill_texts(set(need_ids) | claim_ids, names)
    vectors = skill_vectors({t for ts in texts.values() for t in ts})
    claim_list = sorted(claim_ids)
    if not claim_list:
        return {nid: {} for nid in need_ids}
    # Every claimed skill's texts as one block of rows; the best row of each block per need text.
    counts = [len(texts[sid]) for sid in claim_list]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    matrix = np.stack([vectors[t] for sid in claim_list for t in texts[sid]])
    need_rows = [(nid, np.stack([vectors[t] for t in texts[nid]])) for nid in need_ids]
    out: dict[int, dict[int, float]] = {}
    for nid, rows in need_rows:
        best = np.maximum.reduceat((rows @ matrix.T).max(axis=0), starts)
        out[nid] = dict(zip(claim_list, best.tolist(), strict=True))
    return out
