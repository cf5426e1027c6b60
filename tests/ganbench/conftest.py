"""Fixtures of the core's tests that need servers: a throwaway PostgreSQL server (tests/support/postgres.py)."""

from tests.support.postgres import postgres  # noqa: F401  (a fixture, found by pytest under this name)
