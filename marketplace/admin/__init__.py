"""Django admin of the marketplace: the tables (``catalogue``) and the moderators' queues (``queues``)."""

from marketplace.admin import catalogue, queues  # noqa: F401  (registers the model admins)
