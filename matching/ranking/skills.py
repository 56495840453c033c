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
# Moves whenever a skill's name or aliases as this process knows them may have changed: read again
# and different, a skill no longer found, the catalogue forgotten. What was built from them (a
# candidate's named claims, facts.py; the needs' rows of cosines, below) is current while it has
# not moved.
_generation = 0


def catalogue_generation() -> int:
    """The catalogue's generation (``_generation``). What is built from names that
    ``skill_catalogue`` gave is current while the generation read after that call is unchanged;
    read it before the call too, and keep what is built only if the call did not move it."""
    return _generation


def _next_generation() -> None:
    global _generation
    _generation += 1


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
            changed = False
            while _catalogue and len(_catalogue) + len(rows) > CATALOGUE_SIZE:
                _catalogue.pop(next(iter(_catalogue)))
            for sid, name, aliases in rows:
                found[sid] = (name, tuple(aliases[:MAX_ALIASES]))
                old = _catalogue.pop((database, sid), None)  # re-inserted last: the oldest go first
                changed = changed or (old is not None and old[1:] != found[sid])
                _catalogue[(database, sid)] = (now + CATALOGUE_TTL, *found[sid])
            for sid in missing:  # no longer in the table
                if sid not in found and _catalogue.pop((database, sid), None) is not None:
                    changed = True
            if changed:
                _next_generation()
    return found


def forget_catalogue(*args, **kwargs) -> None:
    """Drop this process's names and aliases of skills (a receiver of ``Skill``'s saves and
    deletes): now, and again once the saving transaction commits, so that a ranking reading the
    old names in between keeps them no longer than that."""
    from django.db import transaction

    def clear() -> None:
        with _lock:
            _catalogue.clear()
            _next_generation()

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
    global _rows_held
    found = _text_ids.get(texts)
    if found is None:
        with _lock:
            if len(_text_ids) >= _MAX_CACHE:  # ids are forgotten with the pairs and rows that use them
                _text_ids.clear()
                _pairs.clear()
                _rows.clear()
                _rows_held = 0
            found = _text_ids.setdefault(texts, next(_next_text_id))  # never reused
    return found


# Each needed skill's cosines to the claimed skills met so far, by the catalogue's generation and
# the need's texts: a ranking's candidates claim mostly skills that earlier rankings' did, whose
# cosines are then read from the row, without looking up their texts again (which cost more than
# the rest of relating a ranking's claims to its needs; docs/benchmarks.md, seventeenth pass).
# Bounded by the cosines held; cleared whole when full.
_rows: dict[tuple[int, int], dict[int, float]] = {}
_rows_held = 0
_MAX_ROW_ENTRIES = 100_000


def skill_similarities(need_ids: list[int], claim_ids: set[int], names: dict[int, str]) -> dict[int, dict[int, float]]:
    """For each needed skill, the cosine to each claimed skill: the best pair over names and aliases.

    Each need's row may hold more claimed skills than ``claim_ids`` (those of earlier calls)."""
    global _rows_held
    # The claimed skills' names are read again once their time is up (a change moves the
    # generation); the rows of the generation after that are current. Cosines computed now are
    # kept under it: from names read after it, so its own or, if it moved meanwhile, a later one's
    # in a row no one reads any more.
    skill_catalogue(claim_ids)
    generation = catalogue_generation()
    need_texts = skill_texts(set(need_ids), names)
    model_key = active_model().key
    out: dict[int, dict[int, float]] = {}
    for nid in need_ids:
        need_fp = _text_id((model_key, *need_texts[nid]))
        row = _rows.get((generation, need_fp))
        todo = sorted(claim_ids) if row is None else [cid for cid in claim_ids if cid not in row]
        if todo:
            computed = _similarities(need_fp, need_texts[nid], todo, names, model_key)
            with _lock:
                row = _rows.get((generation, need_fp))
                if row is None:
                    if _rows_held + len(computed) > _MAX_ROW_ENTRIES:
                        _rows.clear()
                        _rows_held = 0
                    row = _rows[(generation, need_fp)] = {}
                _rows_held += len(computed)
                row.update(computed)
        out[nid] = row if row is not None else {}
    return out


def _similarities(
    need_fp: int, need_texts: list[str], claim_ids: list[int], names: dict[int, str], model_key: str
) -> dict[int, float]:
    """The cosines of one need (its texts' id and texts) to these claimed skills."""
    texts = skill_texts(set(claim_ids), names)
    fingerprint = {sid: _text_id((model_key, *ts)) for sid, ts in texts.items()}
    row = {cid: _pairs.get((need_fp, fingerprint[cid])) for cid in claim_ids}
    todo = [cid for cid, sim in row.items() if sim is None]
    if todo:
        # Every missing claimed skill's texts as one block of rows; the best row of each block.
        vectors = skill_vectors({*need_texts, *(t for cid in todo for t in texts[cid])})
        claim_rows = [vectors[t] for cid in todo for t in texts[cid]]
        starts = np.concatenate(([0], np.cumsum([len(texts[cid]) for cid in todo])[:-1]))
        need_rows = np.stack([vectors[t] for t in need_texts])
        best = np.maximum.reduceat((need_rows @ np.stack(claim_rows).T).max(axis=0), starts).tolist()
        with _lock:
            if len(_pairs) + len(todo) > _MAX_PAIRS:
                _pairs.clear()
            for cid, sim in zip(todo, best, strict=True):
                _pairs[(need_fp, fingerprint[cid])] = sim
                row[cid] = sim
    return row


def forget() -> None:
    """Drop this process's skill names, their vectors and pair similarities (read again when next needed)."""
    global _rows_held
    with _lock:
        _rows_held = 0
        _cache.clear()
        _text_ids.clear()
        _pairs.clear()
        _rows.clear()
        _catalogue.clear()
        _next_generation()
