"""Database upkeep after bulk writes."""

from django.db import connection


def analyze(*tables: str) -> None:
    """Refresh the planner's statistics of tables just bulk-written.

    Spatial plans depend on them, and autovacuum may be off (it is on some hosts), in
    which case a query over freshly loaded sites can pick a plan 40× slower.
    """
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"ANALYZE {connection.ops.quote_name(table)}")
