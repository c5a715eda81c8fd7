"""deploy/: the production dagster.yaml against a real PostgreSQL, and the Celery config `attain` uses."""

import shutil
from pathlib import Path

import pytest

from pipelines.executors import CELERY_SETTINGS, celery_config
from tests.pg_server import available, postgres_server

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


@pytest.mark.slow  # starts a real PostgreSQL server
@pytest.mark.skipif(not available(), reason="PostgreSQL server not installed (scripts/setup.sh installs it)")
def test_the_production_instance_keeps_runs_in_postgres_with_one_run_per_month_and_one_writer(tmp_path, monkeypatch):
    from dagster import DagsterInstance
    from dagster._core.instance.config import PoolGranularity
    from dagster_postgres import PostgresRunStorage

    with postgres_server() as db:
        for key, name in (("hostname", "HOST"), ("port", "PORT"), ("username", "USER"), ("db_name", "DB")):
            monkeypatch.setenv(f"DAGSTER_PG_{name}", str(db[key]))
        monkeypatch.setenv("DAGSTER_PG_PASSWORD", db["password"])
        home = tmp_path / "home"
        home.mkdir()
        shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
        instance = DagsterInstance.from_config(str(home))
        try:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            assert instance.event_log_storage.supports_global_concurrency_limits
            config = instance.get_concurrency_config()
            pools, runs = config.pool_config, config.run_queue_config
            assert (pools.pool_granularity, pools.default_pool_limit) == (PoolGranularity.OP, 1)
            [month] = runs.tag_concurrency_limits
            assert month == {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        finally:
            instance.dispose()
    assert db["password"] not in (DEPLOY / "dagster.yaml").read_text()


def test_the_celery_config_file_is_what_attain_runs_and_workers_use(monkeypatch):
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("ATTAIN_CELERY_BROKER", "redis://127.0.0.1:6390/0")
    config = get_validated_config(str(DEPLOY / "celery_config.yaml"))  # as `dagster-celery worker start -y` reads it
    ours = celery_config("redis://127.0.0.1:6390/0")
    assert (config["broker"], config["backend"], config["config_source"]) == (
        ours["broker"],
        ours["backend"],
        CELERY_SETTINGS,
    )
