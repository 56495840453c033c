"""Rank a judged evaluation set (../shared/eval/FORMAT.md) with the real pipeline.

The set is loaded into a throwaway database created on the configured server (migrated, loaded
through the marketplace services, embedded, ranked, dropped): the configured database's data is
never read or written.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from matching.ranking import STRATEGIES, parallel

FREELANCER_FIELDS = {"key", "headline", "skills", "hourly_rate", "available_hours_per_week"}
GIG_FIELDS = {"key", "title", "description", "skills", "budget_type", "budget_min", "budget_max"}


class Command(BaseCommand):
    help = "Rank an evaluation set in a throwaway database and write the rankings file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("dataset", type=Path, help="evaluation set JSON (see ../shared/eval/FORMAT.md)")
        parser.add_argument("--strategy", choices=STRATEGIES, default="hybrid")
        parser.add_argument("--top", type=int, default=20, help="candidates per gig (k)")
        parser.add_argument("--out", type=Path, required=True, help="rankings JSON to write")

    def handle(self, *args, dataset: Path, strategy: str, top: int, out: Path, **options) -> None:
        data = self._read(dataset)
        if not 1 <= top <= 200:
            raise CommandError("--top must be between 1 and 200")
        original = connection.settings_dict["NAME"]
        temp_name = f"matchwork_eval_{uuid.uuid4().hex[:12]}"
        test_settings = connection.settings_dict.setdefault("TEST", {})
        previous_test_name = test_settings.get("NAME")
        test_settings["NAME"] = temp_name
        self.stderr.write(f"creating throwaway database {temp_name}")
        started = time.monotonic()
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        # The ranking pool's connections must open on the throwaway database, and be closed before
        # it is dropped; what this process cached about the other database (content type ids,
        # corpus statistics) is forgotten on the way in and out.
        self._forget_database()
        try:
            from matching.signals import enqueue_suppression

            with enqueue_suppression():
                rankings = self._load_and_rank(data, strategy=strategy, top=top)
        finally:
            parallel.shutdown()
            connection.creation.destroy_test_db(original, verbosity=0, keepdb=False)
            test_settings["NAME"] = previous_test_name
            self._forget_database()
            self.stderr.write(f"dropped {temp_name}")
        out.write_text(json.dumps({"strategy": strategy, "k": top, "rankings": rankings}, indent=1) + "\n")
        self.stdout.write(
            f"wrote {out}: {len(rankings)} gigs, strategy {strategy}, k={top} ({time.monotonic() - started:.1f}s)"
        )

    @staticmethod
    def _forget_database() -> None:
        from django.contrib.contenttypes.models import ContentType

        from matching.ranking import reset_caches

        parallel.shutdown()
        ContentType.objects.clear_cache()
        reset_caches()

    def _read(self, path: Path) -> dict:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read evaluation set {path}: {exc}") from exc
        for kind, required in (("freelancers", FREELANCER_FIELDS), ("gigs", GIG_FIELDS)):
            rows = data.get(kind)
            if not isinstance(rows, list):
                raise CommandError(f"{path}: '{kind}' must be a list")
            for row in rows:
                missing = required - set(row)
                if missing:
                    raise CommandError(f"{path}: {kind} record {row.get('key')} lacks {sorted(missing)}")
        return data

    def _load_and_rank(self, data: dict, *, strategy: str, top: int) -> dict[str, list[str]]:
        key_of_profile, gig_keys = self.load(data)
        return self.rank(key_of_profile, gig_keys, strategy=strategy, top=top)

    def load(self, data: dict) -> tuple[dict[int, str], dict[int, str]]:
        """Create the set's freelancers and gigs through the marketplace services, then embed them."""
        from accounts.models import User
        from marketplace import services as market
        from marketplace.models import FreelancerProfile
        from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

        key_of_profile: dict[int, str] = {}
        for f in tqdm(data["freelancers"], desc="freelancers", unit="profile"):
            user = User.objects.create_user(email=f"{f['key']}@eval.invalid", role=User.Role.FREELANCER)
            profile = market.freelancer_profile_create(
                user=user,
                display_name=f.get("name") or f["key"],
                headline=f["headline"],
                bio=f.get("bio", ""),
                hourly_rate=f["hourly_rate"],
                available_hours_per_week=int(f["available_hours_per_week"]),
                timezone=f.get("timezone") or "UTC",
                languages=list(f.get("languages") or []),
                skills=[
                    market.SkillClaim(name=s["name"], level=s.get("level") or "intermediate", years=s.get("years"))
                    for s in f["skills"]
                ],
            )
            rating = f.get("rating")
            jobs = int(f.get("completed_jobs") or 0)
            FreelancerProfile.objects.filter(id=profile.id).update(
                rating_avg=rating, rating_count=max(jobs, 1) if rating is not None else 0, completed_jobs=jobs
            )
            key_of_profile[profile.id] = f["key"]

        owner = User.objects.create_user(email="client@eval.invalid", role=User.Role.CLIENT)
        client = market.client_create(name="Evaluation client", owner=owner)
        gig_keys: dict[int, str] = {}
        for g in tqdm(data["gigs"], desc="gigs", unit="gig"):
            gig = market.gig_create(
                client=client,
                created_by=owner,
                title=g["title"],
                description=g["description"],
                budget_type=g["budget_type"],
                budget_min=g["budget_min"],
                budget_max=g["budget_max"],
                hours_per_week=g.get("hours_per_week"),
                duration_weeks=g.get("duration_weeks"),
                timezone=g.get("timezone") or "",
                min_overlap_hours=g.get("min_overlap_hours"),
                languages=list(g.get("languages") or []),
                skills=[
                    market.SkillNeed(
                        name=s["name"], required=bool(s.get("required", True)), min_level=s.get("min_level") or ""
                    )
                    for s in g["skills"]
                ],
            )
            market.gig_publish(gig=gig, by=owner)
            gig_keys[gig.id] = g["key"]

        ids = list(key_of_profile)
        with tqdm(total=len(ids), desc="embedding profiles", unit="profile") as bar:
            for i in range(0, len(ids), 64):
                freelancer_embeddings_refresh(profile_ids=ids[i : i + 64])
                bar.update(len(ids[i : i + 64]))
        gig_embeddings_refresh(gig_ids=list(gig_keys))
        return key_of_profile, gig_keys

    def rank(self, key_of_profile: dict[int, str], gig_keys: dict[int, str], *, strategy: str, top: int) -> dict:
        from marketplace.models import Gig
        from matching.ranking import rank_freelancers, spec_from_gig

        rankings: dict[str, list[str]] = {}
        for gig in tqdm(Gig.objects.filter(id__in=gig_keys).order_by("id"), desc="ranking", unit="gig"):
            ranked = rank_freelancers(spec_from_gig(gig), strategy=strategy, limit=top)
            rankings[gig_keys[gig.id]] = [key_of_profile[c.profile_id] for c in ranked]
        return rankings
