from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from marketplace.moderation.staff import moderator_grant


class Command(BaseCommand):
    help = "Make an existing user a staff moderator (admin sign-in, Moderators group, no delete rights)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with email {email}; they sign up first (POST /api/v1/auth/register/)")
        moderator_grant(user=user)
        self.stdout.write(self.style.SUCCESS(f"{user.email} is now a moderator: sign in at /admin/"))
