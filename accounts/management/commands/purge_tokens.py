from datetime import timedelta

from django.core.management.base import BaseCommand

from accounts.services import tokens_purge


class Command(BaseCommand):
    help = "Delete API tokens that expired or were revoked more than --days days ago."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, days: int, **options):
        deleted = tokens_purge(older_than=timedelta(days=days))
        self.stdout.write(f"purged {deleted} dead API tokens")
