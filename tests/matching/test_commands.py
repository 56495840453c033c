import json

import pytest
from django.core.management import call_command
from django.db import connection

from marketplace.models import FreelancerProfile
from matching.models import FreelancerEmbedding

pytestmark = pytest.mark.model

SMALL_SET = {
    "name": "tiny",
    "freelancers": [
        {
            "key": "f-1",
            "name": "A",
            "headline": "Web scraping engineer",
            "bio": "Scrapy and Playwright spiders.",
            "skills": [{"name": "Web scraping", "level": "expert"}, {"name": "Python", "level": "expert"}],
            "hourly_rate": 50,
            "available_hours_per_week": 30,
            "timezone": "Europe/Berlin",
            "languages": ["en"],
            "rating": 4.8,
            "completed_jobs": 20,
        },
        {
            "key": "f-2",
            "name": "B",
            "headline": "Bookkeeper",
            "bio": "Xero and QuickBooks.",
            "skills": [{"name": "Bookkeeping", "level": "expert"}],
            "hourly_rate": 30,
            "available_hours_per_week": 20,
            "timezone": "Europe/London",
            "languages": ["en"],
            "rating": None,
            "completed_jobs": 0,
        },
        {
            "key": "f-3",
            "name": "C",
            "headline": "Web scraping engineer",
            "bio": "Spiders.",
            "skills": [{"name": "Web scraping", "level": "expert"}],
            "hourly_rate": 50,
            "available_hours_per_week": 0,
            "timezone": "Europe/Berlin",
            "languages": ["en"],
            "rating": 5.0,
            "completed_jobs": 3,
        },
    ],
    "gigs": [
        {
            "key": "g-1",
            "title": "Scrape competitor prices daily",
            "description": "Spiders for 20 shops.",
            "skills": [{"name": "Web scraping", "required": True, "min_level": "advanced"}],
            "budget_type": "hourly",
            "budget_min": 30,
            "budget_max": 60,
            "hours_per_week": 10,
            "timezone": "Europe/London",
            "min_overlap_hours": 2,
            "languages": ["en"],
        },
    ],
    "judgments": [{"gig": "g-1", "freelancer": "f-1", "relevance": 3}],
}


def _eval_databases() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'matchwork_eval_%%'")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_match_dataset_ranks_in_a_throwaway_database(encoder, tmp_path, make_freelancer):
    mine = make_freelancer(headline="A profile of the configured database")
    configured = connection.settings_dict["NAME"]
    before = _eval_databases()
    dataset = tmp_path / "tiny.json"
    dataset.write_text(json.dumps(SMALL_SET))
    out = tmp_path / "rankings.json"

    call_command("match_dataset", str(dataset), "--strategy", "hybrid", "--top", "5", "--out", str(out))

    rankings = json.loads(out.read_text())
    assert rankings["strategy"] == "hybrid" and rankings["k"] == 5
    assert rankings["rankings"]["g-1"][0] == "f-1"
    assert "f-3" not in rankings["rankings"]["g-1"]  # not available: filtered
    # The configured database is back in use, untouched, and the throwaway one is gone.
    assert connection.settings_dict["NAME"] == configured
    assert list(FreelancerProfile.objects.values_list("id", flat=True)) == [mine.id]
    assert _eval_databases() == before


def test_match_dataset_refuses_a_malformed_set(tmp_path):
    from django.core.management.base import CommandError

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"freelancers": [{"key": "f-1"}], "gigs": []}))
    with pytest.raises(CommandError, match="f-1 lacks"):
        call_command("match_dataset", str(bad), "--out", str(tmp_path / "out.json"))


def test_reembed_builds_missing_vectors_in_batches(encoder, make_freelancer, capsys):
    from matching.signals import enqueue_suppression

    with enqueue_suppression():
        profiles = [make_freelancer(headline=f"Annotator {i}") for i in range(3)]
    assert not FreelancerEmbedding.objects.exists()

    call_command("reembed", "--only", "profiles", "--batch-size", "2")

    assert FreelancerEmbedding.objects.filter(profile__in=profiles).count() == 6
    assert "profiles: 6 vectors encoded" in capsys.readouterr().out
    call_command("reembed", "--only", "profiles")
    assert "profiles: 0 vectors encoded" in capsys.readouterr().out
