"""Fixtures every test module may use: the two warehouse backends (tests/warehouses.py), one server per session."""

from tests.warehouses import postgres, postgres_database, warehouse_location  # noqa: F401 (fixtures)
