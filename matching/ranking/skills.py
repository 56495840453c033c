"""Skill-name similarity: how close a claimed skill is to a needed one when they are not the same
taxonomy entry ("AI upskilling" for "Corporate training"). Names and aliases are encoded by the
worker and stored (``SkillTextEmbedding``); a process reads each once and keeps it."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np

from ..encoder import active_model, get_encoder

_lock = threading.Lock()
_cache: dict[tuple[str, str], np.ndarray] = {}
_MAX_CACHE = 50_000


def stored_skill_vectors(texts: list[str], model_version: str) -> dict[str, np.ndarray]:
    """The vectors the worker stored for these skill names and aliases (``SkillTextEmbedding``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT text, embedding::real[] FROM matching_skilltextembedding"
            " WHERE model_version = %s AND text = ANY(%s)",
            [model_version, texts],
        )
        return {text: np.asarray(vec, dtype=np.float32) for text, vec in cursor.fetchall()}


def _remember(key: str, vectors: dict[str, np.ndarray]) -> None:
    with _lock:
        if len(_cache) + len(vectors) > _MAX_CACHE:
            _cache.clear()
        for name, vector in vectors.items():
            _cache[(key, name)] = vector


def _lookup(names: set[str]) -> tuple[str, dict[str, np.ndarray], list[str]]:
    """The active model's key, the vectors of these names that this process has or the worker
    stored (the stored ones are cached now), and the names with neither."""
    model = active_model()
    known = {n: v for n in names if (v := _cache.get((model.key, n))) is not None}
    missing = sorted(n for n in names if n not in known)
    if missing:
        stored = stored_skill_vectors(missing, model.version)
        _remember(model.key, stored)
        known.update(stored)
    return model.key, known, [n for n in missing if n not in known]


def skill_vectors(names: set[str]) -> dict[str, np.ndarray]:
    """Unit vectors of skill names for the active model: from this process's cache, else as the
    worker stored them, else encoded here (a name the taxonomy does not know, or one added since
    the worker last ran)."""
    key, known, rest = _lookup(names)
    if rest:
        encoded = dict(zip(rest, get_encoder().encode_query(rest), strict=True))
        _remember(key, encoded)
        known.update(encoded)
    return known


def skill_names_to_encode(names: set[str]) -> list[str]:
    """The names among these that ``skill_vectors`` would encode: neither in this process's cache
    nor stored by the worker (the stored ones are cached now). A caller about to call the model
    anyway encodes them in the same call and hands them to ``remember_skill_vectors``."""
    return _lookup(names)[2]


def remember_skill_vectors(vectors: dict[str, np.ndarray]) -> None:
    """Keep vectors of skill names encoded by the caller with the active model (``skill_names_to_encode``)."""
    _remember(active_model().key, vectors)


MAX_ALIASES = 20

# The taxonomy's name and aliases of each skill, by id, as rankings read them: every ranking
# needs them for its needs and for its candidates' claims (reading them, and joining each claim
# to its skill's name, cost ~1.4 ms per ranking at 100k profiles; docs/benchmarks.md). They
# change by hand and rarely, so a process keeps what it read ``CATALOGUE_TTL`` seconds: a rename
# or a new alias reaches the rankings of other processes within that time, and those of the
# process that saved it at once (``forget_catalogue``, connected in ``matching.apps``). Bounded;
# the oldest entries go first. The worker's vector refresh reads the table itself (``fresh``).
CATALOGUE_TTL = 60.0
CATALOGUE_SIZE = 50_000
_catalogue: dict[tuple[str, int], tuple[float, str, tuple[str, ...]]] = {}  # (db, id) -> (expires, name, aliases)


def skill_catalogue(skill_ids: set[int] | list[int], *, fresh: bool = False) -> dict[int, tuple[str, tuple[str, ...]]]:
    """The name and the aliases (at most ``MAX_ALIASES``) of each of these skills that exists."""
    from django.db import connection

    database = connection.settings_dict["NAME"]
    now = time.monotonic()
    found: dict[int, tuple[str, tuple[str, ...]]] = {}
    missing: list[int] = []
    for sid in skill_ids:
        entry = None if fresh else _catalogue.get((database, sid))
        if entry is not None and entry[0] > now:
            found[sid] = entry[1:]
        else:
            missing.append(sid)
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, name, aliases FROM marketplace_skill WHERE id = ANY(%s)", [sorted(missing)])
            rows = cursor.fetchall()
        with _lock:
            while _catalogue and len(_catalogue) + len(rows) > CATALOGUE_SIZE:
                _catalogue.pop(next(iter(_catalogue)))
            for sid, name, aliases in rows:
                found[sid] = (name, tuple(aliases[:MAX_ALIASES]))
                _catalogue.pop((database, sid), None)  # re-inserted last: the oldest go first
                _catalogue[(database, sid)] = (now + CATALOGUE_TTL, *found[sid])
    return found


def forget_catalogue(*args, **kwargs) -> None:
    """Drop this process's names and aliases of skills (a receiver of ``Skill``'s saves and
    deletes): now, and again once the saving transaction commits, so that a ranking reading the
    old names in between keeps them no longer than that."""
    from django.db import transaction

    def clear() -> None:
        with _lock:
            _catalogue.clear()

    clear()
    transaction.on_commit(clear)


def skill_texts(
    skill_ids: set[int], names: dict[int, str] | None = None, *, fresh: bool = False
) -> dict[int, list[str]]:
    """The canonical name and the taxonomy's aliases of each skill: every way people name it.

    ``names``: how the caller names each skill (an ad-hoc need's free text, for an id the taxonomy
    does not have); a taxonomy skill's own name is always among its texts. The worker encodes
    exactly these texts (``services.skill_text_vectors_refresh``, with ``fresh``: read from the
    table, not from this process's ``skill_catalogue``).
    """
    names = names or {}
    texts = {sid: [names[sid]] for sid in skill_ids if sid in names}
    for sid, (name, aliases) in skill_catalogue(skill_ids, fresh=fresh).items():
        texts[sid] = list(dict.fromkeys([names.get(sid, name), name, *aliases]))
    return texts


# The best cosine between the texts of a needed skill and those of a claimed skill, by the ids of
# their texts (model, name and aliases): a pair is computed once per process, and again only if
# either skill's name or aliases change. A ranking meets a few needs and a few hundred claimed
# skills; stacking every claimed skill's alias vectors again for each ranking cost more than the
# ranking's SQL.
_text_ids: dict[tuple[str, ...], int] = {}
_next_text_id = itertools.count()
_pairs: dict[tuple[int, int], float] = {}
_MAX_PAIRS = 500_000


def _text_id(texts: tuple[str, ...]) -> int:
    found = _text_ids.get(texts)
    if found is None:
        with _lock:
            if len(_text_ids) >= _MAX_CACHE:  # ids are forgotten with the pairs that use them
                _text_ids.clear()
                _pairs.clear()
            found = _text_ids.setdefault(texts, next(_next_text_id))  # never reused
    return found


def skill_similarities(need_ids: list[int], claim_ids: set[int], names: dict[int, str]) -> dict[int, dict[int, float]]:
    """For each needed skill, the cosine to each claimed skill: the best pair over names and aliases."""
    texts = skill_texts(set(need_ids) | claim_ids, names)
    claim_list = sorted(claim_ids)
    if not claim_list:
        return {nid: {} for nid in need_ids}
    model_key = active_model().key
    fingerprint = {sid: _text_id((model_key, *ts)) for sid, ts in texts.items()}
    out: dict[int, dict[int, float]] = {}
    for nid in need_ids:
        need_fp = fingerprint[nid]
        row = {cid: _pairs.get((need_fp, fingerprint[cid])) for cid in claim_list}
        todo = [cid for cid, sim in row.items() if sim is None]
        if todo:
            # Every missing claimed skill's texts as one block of rows; the best row of each block.
            vectors = skill_vectors({t for sid in (nid, *todo) for t in texts[sid]})
            claim_rows = [vectors[t] for cid in todo for t in texts[cid]]
            starts = np.concatenate(([0], np.cumsum([len(texts[cid]) for cid in todo])[:-1]))
            need_rows = np.stack([vectors[t] for t in texts[nid]])
            best = np.maximum.reduceat((need_rows @ np.stack(claim_rows).T).max(axis=0), starts).tolist()
            with _lock:
                if len(_pairs) + len(todo) > _MAX_PAIRS:
                    _pairs.clear()
                for cid, sim in zip(todo, best, strict=True):
                    _pairs[(need_fp, fingerprint[cid])] = sim
                    row[cid] = sim
        out[nid] = row
    return out


def forget() -> None:
    """Drop this process's skill names, their vectors and pair similarities (read again when next needed)."""
    with _lock:
        _cache.clear()
        _text_ids.clear()
        _pairs.clear()
        _catalogue.clear()
