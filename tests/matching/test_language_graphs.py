"""Language graphs: a partial HNSW index per minority language, chosen from the data, built and
dropped by the sync, and searched instead of the whole graph when a gig's languages all have one."""

from __future__ import annotations

import importlib
from dataclasses import replace
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketplace.models import FreelancerProfile
from matching.encoder import active_model
from matching.models import FREELANCER_HNSW, LANGUAGE_GRAPH_HNSW
from matching.ranking import graphs as graphs_module
from matching.ranking import rank_freelancers, reset_caches, spec_from_gig
from matching.ranking.candidates import _LEVEL_RANK_SQL, dense_candidates, eligibility_sql, skill_candidates
from matching.ranking.graphs import language_clause, language_graphs, plan_language_graphs
from matching.ranking.service import query_vectors
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh, language_graphs_sync
from matching.tasks import sync_language_graphs as sync_task

pytestmark = [pytest.mark.model, pytest.mark.django_db(transaction=True)]  # CREATE INDEX CONCURRENTLY

TOPICS = [
    "Image annotation in CVAT, bounding boxes and segmentation masks",
    "Prompt engineering and evaluation of LLM assistants",
    "MLOps: model deployment, monitoring and CI for ML",
    "Career coaching for engineers moving into management",
    "Data quality analysis and cleaning of tabular datasets",
]
SKILLS = [
    [("Image annotation", "expert"), ("CVAT", "advanced")],
    [("Image annotation", "intermediate"), ("Prompt engineering", "expert")],
    [("CVAT", "expert"), ("MLOps", "advanced")],
    [("Image annotation", "advanced"), ("CVAT", "beginner")],
]


@pytest.fixture(autouse=True)
def _graph_settings(settings):
    settings.MATCHING_EXACT_SEARCH_PROFILES = 0  # every language is over the exact search's limit
    settings.MATCHING_LANGUAGE_GRAPH_MAX_SHARE = 0.5
    settings.MATCHING_LANGUAGE_GRAPHS_MAX = 8


@pytest.fixture
def _drop_graphs():
    yield
    with connection.cursor() as cursor:
        for names in language_graphs(fresh=True).values():
            for name in names:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    reset_caches()


@pytest.fixture
def speakers(encoder, make_freelancer, make_gig, _drop_graphs):
    """20 listed freelancers: all speak English, 6 German, 3 French (one of them German too); two
    more German speakers who cannot be matched (no hours; hidden)."""
    made = []
    for i in range(20):
        languages = ["en"] + (["de"] if i % 3 == 0 and i < 18 else []) + (["fr"] if i in (0, 5, 10) else [])
        made.append(
            make_freelancer(
                headline=f"Freelancer {i}: {TOPICS[i % 5]}",
                skills=SKILLS[i % 4],
                rate=20 + 3 * i,
                languages=tuple(languages),
            )
        )
    idle = make_freelancer(headline=f"Idle: {TOPICS[0]}", skills=SKILLS[0], hours=0, languages=("de",))
    hidden = make_freelancer(headline=f"Hidden: {TOPICS[0]}", skills=SKILLS[0], languages=("de",))
    FreelancerProfile.objects.filter(pk=hidden.pk).update(visibility="private")
    freelancer_embeddings_refresh(profile_ids=[p.id for p in [*made, idle, hidden]])
    gig = make_gig(
        title="Label product photos for a German retailer",
        description="Bounding boxes and segmentation masks in CVAT; calls in German.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", False, "")],
        budget_max=80,
        languages=("de",),
    )
    gig_embeddings_refresh(gig_ids=[gig.id])
    return {"profiles": made, "idle": idle, "hidden": hidden, "gig": spec_from_gig(gig)}


def _plans_of(spec, code: str) -> str:
    """EXPLAIN of the dense search and of one skill's claim walk for ``code``'s speakers."""
    where = eligibility_sql(replace(spec, languages=(code,))).for_language(code)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a table this small would otherwise be read whole
        for sql, params in [
            (
                f"SELECT e.profile_id FROM matching_freelancerembedding e WHERE {where.on('e')}"
                " ORDER BY e.embedding <=> %s::vector LIMIT 10",
                [*where.params, "[" + ",".join(["0.05"] * 384) + "]"],
            ),
            (
                f"SELECT fs.profile_id FROM marketplace_freelancerskill fs WHERE fs.skill_id = 1 AND {where.on('fs')}"
                f" ORDER BY {_LEVEL_RANK_SQL} DESC, fs.profile_id DESC LIMIT 10",
                where.params,
            ),
        ]:
            cursor.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("RESET enable_seqscan")
    return "\n".join(plans)


def test_the_plan_picks_the_minority_languages_within_the_bounds(speakers, settings):
    plan = plan_language_graphs()
    assert plan.listed == 20
    assert plan.speakers == {"en": 20, "de": 6, "fr": 3}  # the idle and the hidden do not count
    assert plan.wanted == ["de", "fr"]  # English is spoken by every listed profile: no graph
    assert plan.create == ["de", "fr"] and plan.drop == [] and plan.keep == []

    settings.MATCHING_LANGUAGE_GRAPHS_MAX = 1
    assert plan_language_graphs().wanted == ["de"]  # the most spoken first
    settings.MATCHING_LANGUAGE_GRAPHS_MAX = 8
    settings.MATCHING_LANGUAGE_GRAPH_MAX_SHARE = 0.2
    assert plan_language_graphs().wanted == ["fr"]  # 6 of 20 is over a fifth
    settings.MATCHING_EXACT_SEARCH_PROFILES = 5000
    assert plan_language_graphs().wanted == []  # so few speakers are searched exactly anyway


def test_sync_builds_keeps_and_drops_the_graphs(speakers, settings, capsys):
    done = language_graphs_sync()
    assert sorted(done.create) == ["de", "fr"]
    graphs = language_graphs(fresh=True)
    assert sorted(graphs) == ["de", "fr"]
    for code, (vectors, claims) in graphs.items():
        plans = _plans_of(speakers["gig"], code)
        # the planner can use both: the searches repeat their predicates
        assert vectors.startswith("freelancer_emb_lang_") and vectors in plans
        assert claims.startswith("freelancer_skill_lang_") and claims in plans
        # the claims part carries what the walk reads besides its predicate's fields (marketplace/0008)
        assert f"Index Only Scan using {claims}" in plans
    assert not set(graphs["de"]) & set(_plans_of(speakers["gig"], "en").split())

    again = language_graphs_sync()
    assert again.create == [] and again.drop == [] and sorted(again.keep) == ["de", "fr"]
    summary = sync_task.apply().get()  # what Celery beat runs daily, here in this process
    assert summary["built"] == [] and summary["dropped"] == [] and sorted(summary["kept"]) == ["de", "fr"]
    assert settings.CELERY_BEAT_SCHEDULE["matching-language-graphs"]["task"] == sync_task.name

    # A failed concurrent build leaves an invalid index: that part is dropped and built again.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = %s::regclass", [graphs["fr"][1]])
    assert "fr" not in language_graphs(fresh=True)  # half a graph is not searched
    repaired = language_graphs_sync()
    assert repaired.drop == [graphs["fr"][1]] and repaired.create == ["fr"]
    assert language_graphs(fresh=True) == graphs

    settings.MATCHING_LANGUAGE_GRAPHS_MAX = 0
    call_command("language_graphs")
    assert language_graphs(fresh=True) == {}
    out = capsys.readouterr().out
    dropped = out.split("build: nothing; drop: ")[1].split(";")[0].split(", ")
    assert sorted(dropped) == sorted(name for names in graphs.values() for name in names)


def test_a_gig_searched_in_its_language_graph_finds_what_the_whole_graph_finds(speakers, monkeypatch):
    spec, model = speakers["gig"], active_model()
    query = query_vectors(spec)
    language_graphs_sync()
    assert "de" in language_graphs(fresh=True)
    german = {p.id for p in speakers["profiles"] if "de" in p.languages}
    needed = [n.skill_id for n in spec.needs if n.skill_id]

    for extra in ({}, {"exclude_user_ids": (speakers["profiles"][0].user_id,)}, {"budget_max": 35}):
        one = replace(spec, **extra)
        where = eligibility_sql(one)
        with CaptureQueriesContext(connection) as searched:
            in_graph = dense_candidates(query, model.version, where, 10)
        # in the words of the graph's predicate, which the planner then uses (test above)
        assert any("ARRAY['de']::varchar[]" in q["sql"] for q in searched.captured_queries)
        claimed = skill_candidates(needed, where, 10)
        monkeypatch.setattr(graphs_module, "language_graphs", lambda: {})
        whole = dense_candidates(query, model.version, where, 10)
        assert skill_candidates(needed, where, 10) == claimed
        monkeypatch.undo()
        assert in_graph.keys() == whole.keys() and in_graph  # a graph this small is searched exactly
        assert list(in_graph.values()) == pytest.approx(list(whole.values()))
        assert in_graph.keys() <= german  # never the idle or the hidden German speaker
        assert claimed and claimed.keys() <= german
        if "exclude_user_ids" in extra:
            assert speakers["profiles"][0].id not in in_graph
        if "budget_max" in extra:
            rates = dict(FreelancerProfile.objects.filter(id__in=in_graph).values_list("id", "hourly_rate"))
            assert all(float(r) <= 35 * 1.25 for r in rates.values())

    # Two languages, each with its graph: one search per language, merged.
    both = replace(spec, languages=("de", "fr"))
    where = eligibility_sql(both)
    in_graphs = dense_candidates(query, model.version, where, 20)
    french = {p.id for p in speakers["profiles"] if "fr" in p.languages}
    assert in_graphs.keys() == german | french
    claimed = skill_candidates(needed, where, 20)
    monkeypatch.setattr(graphs_module, "language_graphs", lambda: {})
    assert skill_candidates(needed, where, 20) == claimed  # the languages' lists merged, strongest first
    monkeypatch.undo()
    assert claimed.keys() <= german | french and claimed.keys() - german  # not vacuous: a French-only claimant
    ranked = rank_freelancers(spec, strategy="hybrid", limit=5)
    assert ranked and {c.profile_id for c in ranked} <= german


def test_a_language_code_goes_into_sql_only_in_its_own_form():
    assert language_clause("pt-BR") == "{p}.languages && ARRAY['pt-BR']::varchar[]"
    for bad in ("de'; DROP TABLE x; --", "", "deutsch", "de-"):
        with pytest.raises(ValueError, match="not a language code"):
            language_clause(bad)


def _graph_parameters(name: str) -> dict[str, int]:
    """An HNSW index's build parameters, as PostgreSQL stores them, and whether it is valid."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reloptions, i.indisvalid FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE c.relname = %s",
            [name],
        )
        options, valid = cursor.fetchone()
    return {**{k: int(v) for k, v in (o.split("=") for o in options)}, "valid": valid}


def test_migration_0010_rebuilds_the_graph_with_the_models_parameters_and_drops_the_language_graphs(speakers):
    model = {**FREELANCER_HNSW, "valid": True}
    assert model == {"m": 16, "ef_construction": 128, "valid": True}
    assert _graph_parameters("freelancer_emb_hnsw_cos") == model  # as the migrations built it
    language_graphs_sync()
    graphs = language_graphs(fresh=True)
    assert sorted(graphs) == ["de", "fr"]
    # built with their own parameters: a graph of one language's speakers is small
    assert LANGUAGE_GRAPH_HNSW == {"m": 16, "ef_construction": 64}
    assert all(_graph_parameters(vectors) == {**LANGUAGE_GRAPH_HNSW, "valid": True} for vectors, _ in graphs.values())

    migration = importlib.import_module("matching.migrations.0010_freelancer_hnsw_ef_construction")
    editor = SimpleNamespace(connection=connection)
    migration.rebuild(64)(None, editor)  # backwards
    assert _graph_parameters("freelancer_emb_hnsw_cos") == {**model, "ef_construction": 64}
    # The language graphs' HNSW parts were built with the other parameters: dropped, so not searched
    # (their claim parts stay) until the next sync builds them again.
    assert language_graphs(fresh=True) == {}
    language_graphs_sync()
    assert language_graphs(fresh=True) == graphs
    spec = speakers["gig"]
    german = {p.id for p in speakers["profiles"] if "de" in p.languages}
    before = dense_candidates(query_vectors(spec), active_model().version, eligibility_sql(spec), 10)

    migration.rebuild(128)(None, editor)  # forwards, again
    assert _graph_parameters("freelancer_emb_hnsw_cos") == model
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = %s", [migration.NEXT])
        assert cursor.fetchone()[0] == 0  # renamed into place
    assert language_graphs(fresh=True) == {}
    after = dense_candidates(query_vectors(spec), active_model().version, eligibility_sql(spec), 10)
    assert after.keys() == before.keys() and after.keys() <= german and after  # the main graph, rebuilt


def test_a_language_graph_built_with_other_parameters_is_searched_until_the_sync_rebuilds_it(speakers):
    model = {**LANGUAGE_GRAPH_HNSW, "valid": True}
    other = 2 * LANGUAGE_GRAPH_HNSW["ef_construction"]
    language_graphs_sync()
    graphs = language_graphs(fresh=True)
    assert sorted(graphs) == ["de", "fr"]
    vectors, _claims = graphs["de"]
    with connection.cursor() as cursor:  # as if built before the model's parameters changed
        cursor.execute(f'ALTER INDEX "{vectors}" SET (ef_construction = {other})')
    assert _graph_parameters(vectors) == {**model, "ef_construction": other}

    assert language_graphs(fresh=True) == graphs  # still searched: an index of the same rows
    plan = plan_language_graphs()
    assert (plan.create, plan.drop, plan.keep) == (["de"], [vectors], ["fr"])  # the claims part stays
    language_graphs_sync()
    assert language_graphs(fresh=True) == graphs  # the same names, built again
    assert _graph_parameters(vectors) == model
    plan = plan_language_graphs()
    assert (plan.create, plan.drop, sorted(plan.keep)) == ([], [], ["de", "fr"])


def test_a_claims_part_built_without_the_walks_columns_is_rebuilt_by_the_sync(speakers):
    language_graphs_sync()
    graphs = language_graphs(fresh=True)
    _vectors, claims = graphs["de"]
    carried = f" INCLUDE ({', '.join(graphs_module.PARTS[1].include)})"  # the level, the rate, the user
    with connection.cursor() as cursor:  # as a sync before the part carried them
        cursor.execute("SELECT pg_get_indexdef(%s::regclass), obj_description(%s::regclass, 'pg_class')", [claims] * 2)
        definition, comment = cursor.fetchone()
        assert carried + " " in definition
        cursor.execute(f'DROP INDEX "{claims}"')
        cursor.execute(definition.replace(carried, ""))
        cursor.execute(f'COMMENT ON INDEX "{claims}" IS %s', [comment])

    assert language_graphs(fresh=True) == graphs  # still searched: an index of the same rows
    plan = plan_language_graphs()
    assert (plan.create, plan.drop, plan.keep) == (["de"], [claims], ["fr"])  # the vectors part stays
    language_graphs_sync()
    assert language_graphs(fresh=True) == graphs
    plan = plan_language_graphs()
    assert (plan.create, plan.drop, sorted(plan.keep)) == ([], [], ["de", "fr"])
