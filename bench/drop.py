"""Drop a benchmark database: ``python -m bench.drop matchwork_bench`` (refuses other names)."""

from __future__ import annotations

import sys

from bench.common import setup_django


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "matchwork_bench"
    if not name.startswith("matchwork_bench") or not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing to drop {name!r}: only matchwork_bench* databases are benchmark databases")
    setup_django()
    import psycopg
    from django.db import connection

    params = {k: v for k, v in connection.get_connection_params().items() if k != "dbname"}
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"dropped {name}")


if __name__ == "__main__":
    main()
