"""Moderation: the automatic policy, moderators' decisions and taxonomy curation.

- ``policy``: the rules that decide whether a gig or profile is public at once or waits for review.
- ``decisions``: what a moderator does (approve, reject, hide, suspend, dismiss), each written to the
  audit trail (``ModerationAction``). Nothing is deleted.
- ``curation``: merging, renaming and recategorising skills of the taxonomy.

The admin, the API and commands call these functions; none of them writes moderation state itself.
"""
