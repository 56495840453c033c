from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching"

    def ready(self) -> None:
        from marketplace import signals as marketplace_signals

        from . import signals

        marketplace_signals.profile_changed.connect(signals.on_profile_changed, dispatch_uid="matching.profile_changed")
        marketplace_signals.gig_changed.connect(signals.on_gig_changed, dispatch_uid="matching.gig_changed")
        # A skill renamed or given aliases here is ranked by its new names at once in this process.
        from django.db.models.signals import post_delete, post_save

        from marketplace.models import Skill

        from .ranking.skills import forget_catalogue

        post_save.connect(forget_catalogue, sender=Skill, dispatch_uid="matching.skill_saved")
        post_delete.connect(forget_catalogue, sender=Skill, dispatch_uid="matching.skill_deleted")
        # Query vectors bound as values (candidates.VectorParam), on every connection it opens.
        from django.db.backends.signals import connection_created

        from .ranking.candidates import register_vector_dumpers

        connection_created.connect(register_vector_dumpers, dispatch_uid="matching.vector_dumpers")
        limit_blas_threads()


def limit_blas_threads() -> None:
    """numpy's BLAS runs on ``MATCHING_BLAS_THREADS`` threads (1 by default) in every process.

    A ranking's matrix products are small (a few hundred vectors); spread over threads they save
    nothing, and OpenBLAS's threads keep spinning after each call, taking the cores that the
    model's threads, the ranking's other queries and PostgreSQL need next. On 2 cores that made
    one talent search in seven wait 40-140 ms for its encoding (docs/benchmarks.md).
    """
    from django.conf import settings

    threads = int(getattr(settings, "MATCHING_BLAS_THREADS", 1))
    if threads <= 0:
        return
    import numpy  # noqa: F401 - loads numpy's BLAS, so that the limit reaches it
    from threadpoolctl import ThreadpoolController

    # Only the BLAS numpy loaded here: torch sizes its own threads (loaded later, when encoding).
    ThreadpoolController().select(user_api="blas").limit(limits=threads)
