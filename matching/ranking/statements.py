"""The ranking's own queries, as prepared statements.

A ranking sends the same eight or so query texts every time, with other values. Sent as Django
sends them (the values written into the text), PostgreSQL parses and plans each one again:
~1.6 ms of planning per ranking at 100k profiles, and ~1.9 ms in all with the parsing
(docs/benchmarks.md). Bound on the server instead, each text is prepared once per connection and
its plan kept: PostgreSQL plans the first runs with their values and then keeps one plan for all
values when it costs no more. psycopg prepares a text after ``PREPARE_THRESHOLD`` runs on a
connection, keeps at most ``prepared_max`` (100) per connection, deallocates the least recently
used, and all of them after a rollback.

``MATCHING_PREPARED_STATEMENTS`` = False sends them as every other query is sent, for a
connection pooler that cannot keep prepared statements (PgBouncer before 1.21, or in
transaction mode without ``max_prepared_statements``).
"""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.db import connection

# Runs of one query text (with the same value types) on a connection before it is prepared there
# (psycopg's own default): a text that comes up once (a rare combination of filters) is not kept.
PREPARE_THRESHOLD = 5


def cursor():
    """A cursor of this thread's connection for the ranking's queries, values bound on the server,
    wrapped as Django wraps its own (errors, query logging, ``execute_wrapper``)."""
    if not settings.MATCHING_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    # Django turns psycopg's preparing off on its connections; its own cursors bind values in the
    # client and are never prepared whatever this says, so only these cursors' queries are.
    if raw.prepare_threshold is None:
        raw.prepare_threshold = PREPARE_THRESHOLD
    with connection.wrap_database_errors:
        return connection._prepare_cursor(psycopg.Cursor(raw))
