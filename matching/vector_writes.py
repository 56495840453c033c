"""The vector upsert of the embedding tables, with the vectors sent to PostgreSQL in binary.

pgvector's Django field sends a vector as a text literal ("[0.0123,...]"): formatting 384 floats
per vector in Python and parsing them again in PostgreSQL was a large part of a worker task's cost
besides encoding. Here a task's vectors travel as one ``real[]`` parameter in PostgreSQL's binary
array format, built from the float32 matrix with numpy, and each row takes its 384-float slice
(``real[]`` → ``vector`` is pgvector's assignment cast, exact for float32 values). The binary
parameter needs server-side binding, which Django's cursor (client-side binding) does not do, so
this one statement goes through a psycopg cursor of the same connection, inside the caller's
transaction, with Django's error wrapping (an ``OperationalError`` stays retryable).
"""

from __future__ import annotations

import struct
from datetime import datetime

import numpy as np
from django.db import connection
from psycopg import Cursor, sql
from psycopg.adapt import Dumper
from psycopg.pq import Format

from .encoder import DIMENSIONS, ModelIdentity

_FLOAT4_OID = 700
_FLOAT4_ARRAY_OID = 1021


class Float32Rows:
    """The rows of a float32 matrix, sent as one flat ``real[]`` (row-major)."""

    __slots__ = ("matrix",)

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = matrix


class Float32RowsDumper(Dumper):
    """PostgreSQL's binary array format: header, then a 4-byte length and a big-endian float4 per element."""

    format = Format.BINARY
    oid = _FLOAT4_ARRAY_OID

    def dump(self, obj: Float32Rows) -> bytes:
        flat = np.ascontiguousarray(obj.matrix, dtype=np.float32).ravel()
        if not flat.size:
            return struct.pack(">iii", 0, 0, _FLOAT4_OID)
        body = np.empty(flat.size, dtype=[("length", ">i4"), ("value", ">f4")])
        body["length"] = 4
        body["value"] = flat
        return struct.pack(">iiiii", 1, 0, _FLOAT4_OID, flat.size, 1) + body.tobytes()


_UPSERT = """
WITH verified AS (
    -- updated_at means "verified current at" (the sweep compares it with the owner's updated_at)
    UPDATE {table} t SET updated_at = %(now)s
    FROM unnest(%(current_owners)s::bigint[], %(current_views)s::text[]) AS c(owner_id, view)
    WHERE t.{owner} = c.owner_id AND t.view = c.view AND t.model_version = %(version)s
)
INSERT INTO {table} AS t ({owner}, view, model_name, model_version, content_hash, embedding, created_at, updated_at)
SELECT i.owner_id, i.view, %(name)s, %(version)s, i.content_hash,
       (%(vectors)s::real[])[(i.n - 1) * {dims} + 1 : i.n * {dims}]::vector, %(now)s, %(now)s
FROM unnest(%(owners)s::bigint[], %(views)s::text[], %(hashes)s::text[])
     WITH ORDINALITY AS i(owner_id, view, content_hash, n)
ORDER BY i.owner_id, i.view
ON CONFLICT ({owner}, view, model_version) DO UPDATE SET
    content_hash = EXCLUDED.content_hash, embedding = EXCLUDED.embedding,
    model_name = EXCLUDED.model_name, updated_at = EXCLUDED.updated_at
"""


def embeddings_write(
    *,
    table: str,
    owner_column: str,
    model: ModelIdentity,
    now: datetime,
    current: list[tuple[int, str]],
    encoded: list[tuple[int, str, str]],
    vectors: np.ndarray,
) -> None:
    """One statement: mark the ``current`` (owner, view) vectors verified, upsert the ``encoded`` ones.

    ``encoded`` holds (owner id, view, content hash) in the order of ``vectors``' rows; they are
    inserted in (owner id, view) order, so concurrent tasks lock the rows in the same order.
    """
    if len(encoded) != len(vectors):
        raise ValueError(f"{len(encoded)} embedding rows for {len(vectors)} vectors")
    if vectors.size and vectors.shape[1] != DIMENSIONS:
        raise ValueError(f"vectors of {vectors.shape[1]} dimensions, {DIMENSIONS} expected")
    query = sql.SQL(_UPSERT).format(
        table=sql.Identifier(table), owner=sql.Identifier(owner_column), dims=sql.Literal(DIMENSIONS)
    )
    params = {
        "now": now,
        "current_owners": [owner_id for owner_id, _ in current],
        "current_views": [view for _, view in current],
        "version": model.version,
        "name": model.name,
        "vectors": Float32Rows(vectors),
        "owners": [owner_id for owner_id, _, _ in encoded],
        "views": [view for _, view, _ in encoded],
        "hashes": [h for _, _, h in encoded],
    }
    connection.ensure_connection()
    # Django's connections use client-side binding cursors; this one binds on the server.
    with connection.wrap_database_errors, Cursor(connection.connection) as cursor:
        cursor.adapters.register_dumper(Float32Rows, Float32RowsDumper)
        # Never a server-side prepared statement: the connection may go through a transaction pooler.
        cursor.execute(query, params, prepare=False)
