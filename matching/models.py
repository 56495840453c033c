"""Matching tables: search documents, vectors per model, and match runs with their results.

Vectors are keyed by the model version that produced them, so a new model's vectors are built
beside the old ones (``manage.py reembed --model-path``) and ranking switches over when the
settings point at the new model; the old rows are deleted afterwards (``reembed --prune``).
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from pgvector.django import HnswIndex, VectorField

from marketplace.models import FreelancerProfile, Gig, ProfileFilterCopy

DIMENSIONS = 384
# The freelancer graph's HNSW parameters (the main index below, the benchmark's rebuild).
# ef_construction 128 builds a graph in which a search finds more of the true nearest profiles for
# the same candidate list: recall@20 0.99 at ``hnsw.ef_search`` 100 at 100k profiles, against
# 0.95-0.96 with 64, for a build 1.1-1.5x as long (docs/benchmarks.md, eleventh pass).
FREELANCER_HNSW = {"m": 16, "ef_construction": 128}
# The same graph as SQL, after ``ON matching_freelancerembedding``.
_HNSW_SQL = "USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef_construction})"
FREELANCER_HNSW_SQL = _HNSW_SQL.format(**FREELANCER_HNSW)
# The language graphs' HNSW parts (ranking/graphs.py): a graph of one language's speakers is small
# enough that the shorter list finds their nearest as well (recall@20 on the bench's gigs searched
# there 1.000 at 100k, 0.993-1.000 at 1M), and every vector written also goes into its languages'
# graphs, which with 128 cost about as much per write as the main graph (docs/benchmarks.md,
# section 2, thirteenth pass).
LANGUAGE_GRAPH_HNSW = {"m": 16, "ef_construction": 64}
LANGUAGE_GRAPH_HNSW_SQL = _HNSW_SQL.format(**LANGUAGE_GRAPH_HNSW)


class EmbeddingView(models.TextChoices):
    """A document is embedded in several views; ranking compares them pairwise and blends."""

    FULL = "full", "Headline/title, text and skills"
    SKILLS = "skills", "Headline/title and skills only"


class FreelancerDocument(models.Model):
    """The deterministic text of a profile and its full-text search vector (model independent)."""

    profile = models.OneToOneField(FreelancerProfile, on_delete=models.CASCADE, related_name="search_document")
    text = models.TextField()
    search_vector = SearchVectorField()
    # Number of lexeme occurrences, for BM25 length normalisation.
    length = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64)
    # Hash of the text and of every other field ranking reads (rate, hours, timezone, languages,
    # visibility, moderation, reputation): a change of it is a change that can move rankings.
    ranking_hash = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            GinIndex(fields=["search_vector"], name="freelancer_doc_fts"),
            # The newest update keys the cached BM25 corpus statistics (ranking.lexical).
            models.Index(fields=["updated_at"], name="freelancer_doc_updated"),
        ]

    def __str__(self) -> str:
        return f"document of profile {self.profile_id}"


class FreelancerTerm(models.Model):
    """One posting of the BM25 index: a lexeme of a profile's document and its weighted frequency.

    Maintained with the document (``matching.services``). A query reads only its own terms' rows:
    the best ``impact`` first per term, then the exact BM25 of the profiles found.
    """

    pk = models.CompositePrimaryKey("profile_id", "term")
    # The primary key (profile, term) serves lookups by profile; no separate index.
    profile = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="+", db_index=False)
    term = models.TextField()
    # Field-weighted term frequency (headline and skills weigh more than the bio).
    tf = models.FloatField()
    # Length of the whole document (lexeme occurrences), for BM25 length normalisation.
    length = models.PositiveIntegerField()
    # BM25's term-frequency factor at a reference document length: orders a term's postings so
    # the best ones are read first (scores use the corpus's real mean length).
    impact = models.FloatField()

    class Meta:
        indexes = [
            # A term's postings, best first, read from the index alone.
            models.Index(
                fields=["term", "-impact"], include=["profile", "tf", "length"], name="freelancer_term_impact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.term} in profile {self.profile_id}"


class FreelancerEmbedding(ProfileFilterCopy):
    """One view of a profile's document encoded by one model version, with the profile's filter
    fields (``ProfileFilterCopy``): the HNSW scan checks the hard filters on every row it meets,
    thousands on strict filters, without looking up the profile. Migration 0009's trigger re-reads
    the copy on every insert or update of a row."""

    profile = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="embeddings")
    view = models.CharField(max_length=8, choices=EmbeddingView.choices)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=32, db_index=True)
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "view", "model_version"], name="one_vector_per_profile_view_model"
            )
        ]
        indexes = [
            HnswIndex(
                name="freelancer_emb_hnsw_cos",
                fields=["embedding"],
                opclasses=["vector_cosine_ops"],
                **FREELANCER_HNSW,
            )
        ]

    def __str__(self) -> str:
        return f"{self.view} vector of profile {self.profile_id} ({self.model_name}@{self.model_version})"


class GigEmbedding(models.Model):
    """One view of a gig's document encoded by one model version."""

    gig = models.ForeignKey(Gig, on_delete=models.CASCADE, related_name="embeddings")
    view = models.CharField(max_length=8, choices=EmbeddingView.choices)
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=32, db_index=True)
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gig", "view", "model_version"], name="one_vector_per_gig_view_model")
        ]
        indexes = [
            HnswIndex(
                name="gig_emb_hnsw_cos", fields=["embedding"], m=16, ef_construction=64, opclasses=["vector_cosine_ops"]
            )
        ]

    def __str__(self) -> str:
        return f"{self.view} vector of gig {self.gig_id} ({self.model_name}@{self.model_version})"


class SkillTextEmbedding(models.Model):
    """One way of naming a skill (its canonical name or a taxonomy alias) encoded by one model version.

    Written by the worker (``services.skill_text_vectors_refresh``); rankings read these for the
    related-skill credit instead of encoding names and aliases in every web process. Keyed by the
    text, not the skill: a renamed skill or a new alias is a new text, and an unchanged one is reused.
    """

    text = models.TextField()
    model_name = models.CharField(max_length=100)
    model_version = models.CharField(max_length=32)
    embedding = VectorField(dimensions=DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model_version", "text"], name="one_vector_per_skill_text_model")
        ]

    def __str__(self) -> str:
        return f"vector of skill text {self.text!r} ({self.model_name}@{self.model_version})"


class MatchRun(models.Model):
    """One ranking of freelancers for a gig. At most one run per gig waits at a time (debounce)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Strategy(models.TextChoices):
        LEXICAL = "lexical", "Full-text only"
        DENSE = "dense", "Vectors only"
        HYBRID = "hybrid", "Hybrid (full pipeline)"

    gig = models.ForeignKey(Gig, on_delete=models.CASCADE, related_name="match_runs")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    strategy = models.CharField(max_length=8, choices=Strategy.choices, default=Strategy.HYBRID)
    trigger = models.CharField(max_length=40, blank=True, help_text="What scheduled the run")
    model_name = models.CharField(max_length=100, blank=True)
    model_version = models.CharField(max_length=32, blank=True)
    candidate_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["gig"], condition=Q(status="pending"), name="one_pending_match_run_per_gig")
        ]

    def __str__(self) -> str:
        return f"match run {self.pk} of gig {self.gig_id} ({self.status})"


class MatchResult(models.Model):
    """A ranked candidate of a match run, with the component scores and the readable explanation."""

    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="results")
    freelancer = models.ForeignKey(FreelancerProfile, on_delete=models.CASCADE, related_name="match_results")
    rank = models.PositiveIntegerField()
    score = models.FloatField()
    components = models.JSONField(default=dict)
    explanation = models.JSONField(default=dict)

    class Meta:
        ordering = ["run_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "rank"], name="unique_rank_per_run"),
            models.UniqueConstraint(fields=["run", "freelancer"], name="unique_freelancer_per_run"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.freelancer_id} ({self.score:.3f})"


class TaskFailure(models.Model):
    """A background task given up for good (e.g. a poison message that killed its worker on each
    delivery). Shown read-only in the admin so an operator can investigate and re-run the work."""

    task_id = models.CharField(max_length=64, unique=True)
    task_name = models.CharField(max_length=200, db_index=True)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    deliveries = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.task_name}[{self.task_id}] failed after {self.deliveries} deliveries"
