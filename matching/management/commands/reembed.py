"""Re-embed every profile, gig and skill name in batches, streaming the tables (no task per row).

``--model-path`` builds vectors of another local model beside the current ones (ranking keeps
using the configured model); point MATCHING_MODEL_PATH / MATCHING_MODEL_SHA256 at it to switch
over, then ``reembed --prune`` removes the vectors of other models.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from marketplace.models import FreelancerProfile, Gig


class Command(BaseCommand):
    help = "Build missing or stale vectors of all profiles, gigs and skill names, in batches, with progress bars."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--only", choices=["profiles", "gigs", "skills"], help="limit to one table")
        parser.add_argument("--model-path", help="local sentence-transformers folder to build vectors for")
        parser.add_argument("--model-sha256", default="", help="expected SHA-256 of that model's model.safetensors")
        parser.add_argument(
            "--prune",
            action="store_true",
            help="delete vectors of models other than the active one, and of skill names no skill uses",
        )

    def handle(
        self,
        *args,
        batch_size: int,
        only: str | None,
        model_path: str | None,
        model_sha256: str,
        prune: bool,
        **options,
    ) -> None:
        from matching.encoder import ModelIntegrityError, active_model
        from matching.models import FreelancerEmbedding, GigEmbedding
        from matching.services import (
            freelancer_embeddings_refresh,
            gig_embeddings_refresh,
            skill_text_vectors_prune,
            skill_text_vectors_refresh,
        )

        if not 1 <= batch_size <= 1024:
            raise CommandError("--batch-size must be between 1 and 1024")
        if model_path:
            settings.MATCHING_MODEL_PATH = model_path
            settings.MATCHING_MODEL_SHA256 = model_sha256
        try:
            model = active_model()
        except ModelIntegrityError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"model {model.key} ({model.path})")
        if prune:
            n_p, _ = FreelancerEmbedding.objects.exclude(model_version=model.version).delete()
            n_g, _ = GigEmbedding.objects.exclude(model_version=model.version).delete()
            n_s = skill_text_vectors_prune(model_version=model.version)
            self.stdout.write(
                f"pruned {n_p} profile and {n_g} gig vectors of other models, and {n_s} skill-name vectors "
                "of other models or of names no skill uses"
            )
            return
        jobs = [
            ("profiles", FreelancerProfile.objects, freelancer_embeddings_refresh, "profile_ids"),
            ("gigs", Gig.objects, gig_embeddings_refresh, "gig_ids"),
        ]
        for name, manager, refresh, arg in jobs:
            if only and only != name:
                continue
            encoded = 0
            ids = manager.order_by("id").values_list("id", flat=True)
            with tqdm(total=manager.count(), desc=name, unit=name[:-1]) as bar:
                batch: list[int] = []
                for pk in ids.iterator(chunk_size=batch_size * 4):
                    batch.append(pk)
                    if len(batch) == batch_size:
                        encoded += refresh(**{arg: batch})
                        bar.update(len(batch))
                        batch = []
                if batch:
                    encoded += refresh(**{arg: batch})
                    bar.update(len(batch))
            self.stdout.write(f"{name}: {encoded} vectors encoded")
        if only in (None, "skills"):
            # Skill names and aliases (related-skill credit), in bounded calls.
            encoded = 0
            with tqdm(desc="skill names", unit="text") as bar:
                while done := skill_text_vectors_refresh(limit=batch_size * 8):
                    encoded += done
                    bar.update(done)
            self.stdout.write(f"skill names: {encoded} vectors encoded")
