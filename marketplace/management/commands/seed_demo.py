from django.core.management.base import BaseCommand

from marketplace.demo_data import ADMIN_EMAIL, ADMIN_PASSWORD, load_demo_data


class Command(BaseCommand):
    help = "Load the demo marketplace (clients, freelancers, published gigs). Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--freelancers", type=int, default=50)

    def handle(self, *args, freelancers: int, **options):
        created = load_demo_data(freelancers=freelancers)
        self.stdout.write(self.style.SUCCESS(f"demo data: created {created}"))
        self.stdout.write(f"demo admin login: {ADMIN_EMAIL} / {ADMIN_PASSWORD}  (http://127.0.0.1:8000/admin/)")
