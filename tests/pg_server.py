"""The throwaway PostgreSQL server of the tests: pipelines/pg_server.py (shared with the benchmarks)."""

from pipelines.pg_server import available, postgres_server

__all__ = ["available", "postgres_server"]
