"""After-commit announcements for the matching engine (see marketplace.signals).

The hooks are ``robust``: the write is committed by the time they run, so a failure in a receiver
(the broker being away) is logged and never turns an acknowledged write into an error response;
the matching sweep re-enqueues whatever was not announced.
"""

from django.db import transaction

from marketplace.models import FreelancerProfile, Gig


def profile_changed_on_commit(profile: FreelancerProfile) -> None:
    """A changed profile (fields, skills, visibility) needs a new embedding."""
    from marketplace import signals

    profile_id = profile.id
    transaction.on_commit(
        lambda: signals.profile_changed.send(sender=FreelancerProfile, profile_id=profile_id), robust=True
    )


def gig_changed_on_commit(gig: Gig) -> None:
    """A changed gig (fields, skills, publish, close) needs a new embedding and match run."""
    from marketplace import signals

    gig_id = gig.id
    transaction.on_commit(lambda: signals.gig_changed.send(sender=Gig, gig_id=gig_id), robust=True)
