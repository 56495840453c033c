"""Synthetic marketplace at scale: freelancers whose vectors follow real profile embeddings.

A few hundred *base* profiles are written from the skill taxonomy (headline, bio, claimed skills)
and encoded with the real model (both views). Each synthetic freelancer takes a base profile's
text plus a skill or two of a second base profile, and its vectors are a convex mix of the two
bases' real vectors plus a little Gaussian noise, renormalised: the vectors cluster the way real
profiles do instead of spreading like uniform noise. Structured fields (rate, hours, languages,
timezone, visibility, moderation, reputation) are drawn independently.

Rows are written with COPY (binary for vectors) in ascending id blocks, the HNSW index is dropped
during the load and rebuilt afterwards, so 100k freelancers take minutes.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from tqdm import tqdm

LEVELS = ["beginner", "intermediate", "advanced", "expert"]
TIMEZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Warsaw",
    "Europe/Madrid",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Manila",
    "Asia/Singapore",
    "Africa/Lagos",
    "Australia/Sydney",
]
OTHER_LANGUAGES = ["de", "fr", "es", "pt", "pl", "hi", "it", "nl"]
ROLES = {
    "technology": ["engineer", "developer", "consultant", "architect"],
    "ai_lifecycle": ["specialist", "engineer", "annotator", "scientist"],
    "business": ["consultant", "specialist", "administrator", "assistant"],
    "creative": ["designer", "writer", "editor", "specialist"],
    "coaching_ld": ["coach", "trainer", "facilitator", "consultant"],
    "other": ["specialist", "translator", "coach", "professional"],
}
SENIORITY = ["", "Senior ", "Freelance ", "Certified ", "Lead ", "Experienced "]
BIO_OPENERS = [
    "I help {who} with {a} and {b}.",
    "{years} years of hands-on work in {a}, mostly {b} for {who}.",
    "Specialised in {a}; I also take on {b} and {c} projects.",
    "I deliver {a} for {who}, from first draft to production.",
    "Former in-house {role}, now independent: {a}, {b} and {c}.",
]
BIO_MIDDLES = [
    "Recent work: {b} for a {sector} company, and {c} that cut their turnaround in half.",
    "I work in small, reviewed increments and document everything I hand over.",
    "Clients value clear communication, realistic estimates and tidy {a} deliverables.",
    "Comfortable owning a project end to end or joining an existing team for {b}.",
    "Typical engagements last a few weeks to several months.",
]
WHO = ["startups", "agencies", "SaaS companies", "research teams", "non-profits", "e-commerce shops", "enterprises"]
SECTORS = ["fintech", "healthcare", "logistics", "retail", "media", "education", "manufacturing"]
GIG_TITLES = [
    "{a} {role} for {sector} project",
    "Need help with {a} and {b}",
    "Looking for a {a} expert",
    "{a}: short engagement, {b} a plus",
    "Part-time {role} ({a}, {b})",
]
GIG_BODIES = [
    "We are a {sector} team looking for someone to own {a}. Experience with {b} is expected; {c} helps.",
    "Our {sector} product needs {a}. You will work with our team on {b} over the next weeks.",
    "Scope: {a} and {b} for an internal project. Clear written updates twice a week.",
    "We need a reliable freelancer for {a}. Bonus if you have done {c} before.",
]


@dataclass
class BaseProfile:
    category: str
    headline: str
    bio: str
    claims: list[tuple[int, str, str, int]]  # skill id, name, level, years


def _skills_by_category() -> dict[str, list[tuple[int, str]]]:
    from marketplace.models import Skill

    out: dict[str, list[tuple[int, str]]] = {}
    for sid, name, category in Skill.objects.filter(merged_into__isnull=True).values_list("id", "name", "category"):
        out.setdefault(category, []).append((sid, name))
    return {k: v for k, v in out.items() if len(v) >= 3}


def base_profiles(count: int, rng: random.Random) -> list[BaseProfile]:
    """Readable profiles written from the taxonomy, one category each (plus an occasional stray skill)."""
    cats = _skills_by_category()
    every = [s for v in cats.values() for s in v]
    names = list(cats)
    weights = [len(cats[c]) for c in names]
    out = []
    for _ in range(count):
        cat = rng.choices(names, weights)[0]
        picked = rng.sample(cats[cat], k=min(len(cats[cat]), rng.randint(3, 6)))
        if rng.random() < 0.3:
            extra = rng.choice(every)
            if extra not in picked:
                picked.append(extra)
        role = rng.choice(ROLES.get(cat, ROLES["other"]))
        a, b, c = (picked + picked)[:3]
        fill = {
            "a": a[1],
            "b": b[1],
            "c": c[1],
            "who": rng.choice(WHO),
            "years": rng.randint(2, 15),
            "role": role,
            "sector": rng.choice(SECTORS),
        }
        headline = f"{rng.choice(SENIORITY)}{a[1]} {role}".strip()
        bio = " ".join([rng.choice(BIO_OPENERS).format(**fill), rng.choice(BIO_MIDDLES).format(**fill)])
        claims = [(sid, name, rng.choice(LEVELS), rng.randint(1, 12)) for sid, name in picked]
        out.append(BaseProfile(category=cat, headline=headline, bio=bio, claims=claims))
    return out


def encode_bases(bases: list[BaseProfile]) -> np.ndarray:
    """Real vectors of the base profiles, shape (len, 2, 384): views full, skills."""
    from matching.documents import ClaimText, freelancer_document_from_parts
    from matching.encoder import get_encoder
    from matching.models import EmbeddingView

    docs = [
        freelancer_document_from_parts(
            headline=b.headline, bio=b.bio, claims=[ClaimText(name=n, level=lv) for _, n, lv, _ in b.claims]
        )
        for b in bases
    ]
    texts = [d.views[EmbeddingView.FULL] for d in docs] + [d.views[EmbeddingView.SKILLS] for d in docs]
    vectors = get_encoder().encode(texts)
    n = len(bases)
    return np.stack([vectors[:n], vectors[n:]], axis=1)


def _max_id(table: str) -> int:
    with connection.cursor() as c:
        c.execute(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - fixed table names
        return int(c.fetchone()[0])


def _sync_sequence(table: str) -> None:
    with connection.cursor() as c:
        c.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"  # noqa: S608
        )


def freelancer_count() -> int:
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM marketplace_freelancerprofile")
        return int(c.fetchone()[0])


def seed_freelancers(target: int, *, seed: int = 5, bases_count: int = 400, block: int = 10_000) -> dict:
    """Add synthetic freelancers until the database holds ``target``; rebuild the HNSW index.

    Returns timings of the steps (seconds).
    """
    from pgvector.psycopg import register_vector

    from matching.documents import ClaimText, freelancer_document_from_parts
    from matching.encoder import active_model
    from matching.models import EmbeddingView

    have = freelancer_count()
    timings: dict[str, float] = {}
    if have >= target:
        return timings
    rng = random.Random(seed + have)
    nrng = np.random.default_rng(seed + have)
    started = time.monotonic()
    bases = base_profiles(bases_count, random.Random(seed))  # same bases at every size
    base_vecs = encode_bases(bases)
    by_cat: dict[str, list[int]] = {}
    for i, b in enumerate(bases):
        by_cat.setdefault(b.category, []).append(i)
    timings["encode_bases_s"] = time.monotonic() - started

    model = active_model()
    connection.ensure_connection()
    register_vector(connection.connection)
    started = time.monotonic()
    with connection.cursor() as c:
        c.execute("DROP INDEX IF EXISTS freelancer_emb_hnsw_cos")
    user_id, profile_id = _max_id("accounts_user"), _max_id("marketplace_freelancerprofile")
    claim_id, emb_id = _max_id("marketplace_freelancerskill"), _max_id("matching_freelancerembedding")
    todo = target - have
    bar = tqdm(total=todo, desc=f"seeding freelancers to {target:,}", unit="profile")
    done = 0
    while done < todo:
        n = min(block, todo - done)
        users, profiles, claims, docs, embs = [], [], [], [], []
        primary = nrng.integers(0, len(bases), size=n)
        alpha = nrng.uniform(0.55, 0.9, size=n).astype(np.float32)
        noise = nrng.normal(0.0, 0.012, size=(n, 2, 384)).astype(np.float32)
        for k in range(n):
            user_id += 1
            profile_id += 1
            i = int(primary[k])
            b = bases[i]
            same = by_cat[b.category]
            j = rng.choice(same) if rng.random() < 0.7 else rng.randrange(len(bases))
            vec = alpha[k] * base_vecs[i] + (1 - alpha[k]) * base_vecs[j] + noise[k]
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            own = list(b.claims)
            seen = {c[0] for c in own}
            for extra in rng.sample(bases[j].claims, k=min(len(bases[j].claims), rng.randint(0, 2))):
                if extra[0] not in seen:
                    own.append((extra[0], extra[1], rng.choice(LEVELS), rng.randint(1, 12)))
                    seen.add(extra[0])
            active = rng.random() > 0.01
            suspended = rng.random() < 0.01
            users.append((user_id, f"bench-{user_id}@bench.invalid", active, suspended))
            langs = ["en"] if rng.random() < 0.85 else []
            langs += rng.sample(OTHER_LANGUAGES, k=rng.choice([0, 0, 1, 1, 2]))
            if not langs:
                langs = [rng.choice(OTHER_LANGUAGES)]
            rated = rng.random() < 0.6
            rating_count = rng.randint(1, 60) if rated else 0
            profiles.append(
                (
                    profile_id,
                    f"Freelancer {profile_id}",
                    b.headline,
                    b.bio,
                    round(min(400.0, max(8.0, rng.lognormvariate(3.8, 0.5))), 2),
                    rng.choice([0, 5, 10, 20, 20, 30, 40, 40]),
                    rng.choice(TIMEZONES),
                    langs,
                    "public" if rng.random() < 0.95 else "hidden",
                    rng.choices(["approved", "pending", "rejected"], [0.95, 0.03, 0.02])[0],
                    round(rng.uniform(3.2, 5.0), 2) if rated else None,
                    rating_count,
                    rating_count + rng.randint(0, 10) if rated else rng.randint(0, 2),
                    user_id,
                )
            )
            for sid, _name, level, years in own:
                claim_id += 1
                claims.append((claim_id, level, years, profile_id, sid))
            doc = freelancer_document_from_parts(
                headline=b.headline, bio=b.bio, claims=[ClaimText(name=nm, level=lv) for _, nm, lv, _ in own]
            )
            docs.append(
                (profile_id, doc.views[EmbeddingView.FULL], doc.headline, doc.skills, doc.body, doc.content_hash)
            )
            for v, view in enumerate((EmbeddingView.FULL, EmbeddingView.SKILLS)):
                emb_id += 1
                embs.append((emb_id, profile_id, str(view), doc.hash_for(view, model.key), vec[v]))
        _copy_block(model, users, profiles, claims, docs, embs)
        done += n
        bar.update(n)
    bar.close()
    for table in (
        "accounts_user",
        "marketplace_freelancerprofile",
        "marketplace_freelancerskill",
        "matching_freelancerembedding",
    ):
        _sync_sequence(table)
    timings["copy_rows_s"] = time.monotonic() - started
    started = time.monotonic()
    build_hnsw()
    timings["hnsw_build_s"] = time.monotonic() - started
    with connection.cursor() as c:
        c.execute("ANALYZE")
        # As autovacuum would soon after a bulk load: the visibility map the index-only scans
        # read (the taxonomy walk's, marketplace/0008) marks the loaded pages all-visible.
        c.execute("VACUUM marketplace_freelancerskill")
    return timings


def _copy_block(model, users, profiles, claims, docs, embs) -> None:
    """One block of rows in one transaction: users, profiles, claims, documents, vectors (binary COPY)."""
    from django.utils import timezone

    from matching.services import postings_refresh

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as wrapper:
        cur = wrapper.cursor
        with cur.copy(
            "COPY accounts_user (id, password, is_superuser, first_name, last_name, is_staff, is_active, "
            "date_joined, email, full_name, role, is_suspended, suspended_reason) FROM STDIN"
        ) as cp:
            for uid, email, active, suspended in users:
                cp.write_row((uid, "!", False, "", "", False, active, now, email, "", "freelancer", suspended, ""))
        with cur.copy(
            "COPY marketplace_freelancerprofile (id, created_at, updated_at, display_name, headline, bio, hourly_rate, "
            "currency, available_hours_per_week, timezone, languages, visibility, moderation_status, "
            "moderation_reason, rating_avg, rating_count, completed_jobs, version, user_id) FROM STDIN"
        ) as cp:
            for pid, name, headline, bio, rate, hours, tz, langs, vis, mod, rating, rcount, jobs, uid in profiles:
                cp.write_row(
                    (
                        pid,
                        now,
                        now,
                        name,
                        headline,
                        bio,
                        rate,
                        "USD",
                        hours,
                        tz,
                        langs,
                        vis,
                        mod,
                        "",
                        rating,
                        rcount,
                        jobs,
                        1,
                        uid,
                    )
                )
        with cur.copy("COPY marketplace_freelancerskill (id, level, years, profile_id, skill_id) FROM STDIN") as cp:
            for row in claims:
                cp.write_row(row)
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_doc_stage "
            "(profile_id bigint, text text, headline text, skills text, body text, content_hash text)"
        )
        cur.execute("TRUNCATE bench_doc_stage")
        with cur.copy("COPY bench_doc_stage FROM STDIN") as cp:
            for row in docs:
                cp.write_row(row)
        # The same weighted tsvector and BM25 length as matching.services._documents_store.
        cur.execute(
            """
            INSERT INTO matching_freelancerdocument
                (profile_id, text, search_vector, length, content_hash, ranking_hash, updated_at)
            SELECT profile_id, text, sv,
                   (SELECT coalesce(sum(coalesce(array_length(l.positions, 1), 1)), 0) FROM unnest(sv) l),
                   content_hash, '', now()
            FROM (
                SELECT s.*, setweight(to_tsvector('english', headline), 'A')
                        || setweight(to_tsvector('english', skills), 'B')
                        || setweight(to_tsvector('english', body), 'C') AS sv
                FROM bench_doc_stage s
            ) x
            """
        )
        postings_refresh(cur, [row[0] for row in docs])
        with cur.copy(
            "COPY matching_freelancerembedding (id, profile_id, view, model_name, model_version, content_hash, "
            "embedding, created_at, updated_at) FROM STDIN WITH (FORMAT BINARY)"
        ) as cp:
            cp.set_types(["int8", "int8", "text", "text", "text", "text", "vector", "timestamptz", "timestamptz"])
            for eid, pid, view, h, vec in embs:
                cp.write_row((eid, pid, view, model.name, model.version, h, vec, now, now))


def build_hnsw() -> None:
    """(Re)build the freelancer HNSW index as the model defines it, with build memory raised."""
    from matching.models import FREELANCER_HNSW_SQL

    with connection.cursor() as c:
        c.execute("DROP INDEX IF EXISTS freelancer_emb_hnsw_cos")
        # The graph must fit in memory to build fast: about 3.5 GiB at 1M freelancers (2M vectors).
        c.execute("SELECT set_config('maintenance_work_mem', %s, false)", [os.environ.get("BENCH_HNSW_MEMORY", "2GB")])
        c.execute("SET max_parallel_maintenance_workers = 1")
        c.execute(f"CREATE INDEX freelancer_emb_hnsw_cos ON matching_freelancerembedding {FREELANCER_HNSW_SQL}")


def seed_gigs(count: int, *, seed: int = 11) -> list[int]:
    """Published gigs written from the taxonomy through the marketplace services, with real vectors.

    Returns the ids of the bench's published gigs (creating only what is missing).
    """
    from accounts.models import User
    from marketplace import services as market
    from marketplace.models import Gig
    from matching.services import gig_embeddings_refresh, skill_text_vectors_refresh
    from matching.signals import enqueue_suppression

    # What the worker keeps up to date in production: the vectors of every skill name and alias.
    while skill_text_vectors_refresh():
        pass
    existing = list(
        Gig.objects.filter(status=Gig.Status.PUBLISHED, created_by__email="bench-client@bench.invalid")
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(existing) >= count:
        return existing[:count]
    rng = random.Random(seed + len(existing))
    cats = _skills_by_category()
    names = list(cats)
    with enqueue_suppression():
        owner = User.objects.filter(email="bench-client@bench.invalid").first()
        if owner is None:
            owner = User.objects.create_user(email="bench-client@bench.invalid", role=User.Role.CLIENT)
            client = market.client_create(name="Bench client", owner=owner)
        else:
            client = owner.client_membership.client
        created = []
        for _ in tqdm(range(count - len(existing)), desc="gigs", unit="gig"):
            cat = rng.choice(names)
            picked = rng.sample(cats[cat], k=min(len(cats[cat]), rng.randint(2, 5)))
            a, b, c = (picked + picked)[:3]
            fill = {
                "a": a[1],
                "b": b[1],
                "c": c[1],
                "role": rng.choice(ROLES.get(cat, ROLES["other"])),
                "sector": rng.choice(SECTORS),
            }
            hourly = rng.random() < 0.7
            top = rng.choice([40, 60, 80, 100, 150]) if hourly else rng.choice([1000, 3000, 8000])
            langs = rng.choices([["en"], ["de"], ["en", "fr"], []], [0.75, 0.08, 0.07, 0.1])[0]
            needs = [
                market.SkillNeed(
                    name=n,
                    required=i < max(1, len(picked) - 1),
                    min_level=rng.choice(["", "", "intermediate", "advanced"]),
                )
                for i, (_sid, n) in enumerate(picked)
            ]
            gig = market.gig_create(
                client=client,
                created_by=owner,
                title=rng.choice(GIG_TITLES).format(**fill)[:200],
                description=rng.choice(GIG_BODIES).format(**fill),
                budget_type="hourly" if hourly else "fixed",
                budget_min=top // 2,
                budget_max=top,
                hours_per_week=rng.choice([None, 10, 20, 40]),
                timezone=rng.choice(["", *TIMEZONES]),
                min_overlap_hours=rng.choice([None, 2, 4]),
                languages=langs,
                skills=needs,
            )
            gig = market.gig_publish(gig=gig, by=owner)
            created.append(gig.id)
        gig_embeddings_refresh(gig_ids=created)
    return existing + created


SEARCH_EXTRAS = ["Start next week.", "Remote, async-friendly team.", "Long-term work possible.", "", ""]


def talent_searches(count: int, *, seed: int = 13) -> list[dict]:
    """Varied talent-search bodies written from the taxonomy: titles, descriptions, 1-5 skills
    (some optional, some with a minimum level, now and then a name the taxonomy does not know),
    budgets, hours, timezones with an overlap, languages; no two alike, so a benchmark that cycles
    through them repeats no query text for ``count`` requests."""
    rng = random.Random(seed)
    cats = _skills_by_category()
    names = list(cats)
    out, seen = [], set()
    while len(out) < count:
        cat = rng.choice(names)
        picked = rng.sample(cats[cat], k=min(len(cats[cat]), rng.randint(1, 5)))
        a, b, c = (picked + picked + picked)[:3]
        fill = {"a": a[1], "b": b[1], "c": c[1], "role": rng.choice(ROLES.get(cat, ROLES["other"])),
                "sector": rng.choice(SECTORS)}  # fmt: skip
        title = rng.choice(GIG_TITLES).format(**fill)[:200]
        body: dict = {
            "title": title,
            "description": " ".join([rng.choice(GIG_BODIES).format(**fill), rng.choice(SEARCH_EXTRAS)]).strip(),
            "skills": [
                {"name": n, "required": i == 0 or rng.random() < 0.7,
                 **({"min_level": rng.choice(LEVELS[1:])} if rng.random() < 0.3 else {})}
                for i, (_sid, n) in enumerate(picked)
            ],
        }  # fmt: skip
        if rng.random() < 0.1:
            body["skills"].append({"name": f"{rng.choice(['Internal', 'Legacy', 'Custom'])} {a[1]} tooling",
                                   "required": False})  # fmt: skip
        budget = rng.random()
        if budget < 0.5:
            top = rng.choice([30, 45, 60, 80, 100, 150])
            body.update(budget_type="hourly", budget_min=str(top // 2), budget_max=str(top))
        elif budget < 0.75:
            body.update(budget_type="fixed", budget_max=str(rng.choice([500, 1500, 3000, 8000])))
        if rng.random() < 0.4:
            body["hours_per_week"] = rng.choice([5, 10, 20, 30, 40])
        if rng.random() < 0.35:
            body.update(timezone=rng.choice(TIMEZONES), min_overlap_hours=rng.choice([1, 2, 3, 4]))
        langs = rng.choices([[], ["en"], ["de"], ["en", "fr"], ["es"]], [0.4, 0.4, 0.08, 0.07, 0.05])[0]
        if langs:
            body["languages"] = langs
        key = repr(sorted(body.items()))
        if key not in seen:
            seen.add(key)
            out.append(body)
    return out
