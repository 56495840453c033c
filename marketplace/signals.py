"""Events the marketplace announces after a transaction commits.

The matching app subscribes to these (in ``matching.apps``) to enqueue embedding and match runs,
so the marketplace does not import the matching engine. They are sent from ``transaction.on_commit``
only: a rolled-back write announces nothing.
"""

from django.dispatch import Signal

# kwargs: profile_id
profile_changed = Signal()
# kwargs: gig_id
gig_changed = Signal()
