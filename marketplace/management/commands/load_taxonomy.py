from django.core.management.base import BaseCommand

from marketplace.models import Skill
from marketplace.taxonomy import load_seed_taxonomy


class Command(BaseCommand):
    help = "Create missing seed skills and aliases (never removes curated data)."

    def handle(self, *args, **options):
        created = load_seed_taxonomy(Skill)
        self.stdout.write(self.style.SUCCESS(f"taxonomy: {created} skills created, {Skill.objects.count()} in all"))
