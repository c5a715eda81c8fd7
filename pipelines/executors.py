"""Where the month-end's steps run: in the calling process (the default) or on Celery workers (issue 12).

One executor, ``month_end_executor``, takes either mode from the run config (``in_process``, ``multiprocess``
or ``celery``), so the job is the same definition in the CLI, in ``dagster dev`` and in a Celery worker, which
rebuilds the run's execution plan from the run config alone. ``ATTAIN_EXECUTOR=celery`` only changes the
default (``pipelines.definitions``) and what ``attain run`` asks for.

The Celery mode is dagster-celery's executor with two additions:

- Celery records which worker started a task (``task_track_started``), and a step whose worker stops
  answering pings for ``LOST_AFTER`` seconds fails: a worker killed mid-step (a lost machine) leaves no result
  behind, and dagster-celery alone would wait for it forever. The run then fails, and re-executing it from
  failure (``attain run --resume``) runs only the steps that did not finish.
- Workers fetch a task only when they have a free process (``worker_disable_prefetch``): a task is never
  held by a busy worker while another one is idle, nor lost with a worker that had not started it.

``run_on_workers`` runs (or resumes) a month with it from ``attain run``; ``worker_main`` starts a worker: the app of ``dagster_celery.app`` (same tasks, same queues), configured like
the executor, run in this process so that stopping the process stops the worker.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from celery.exceptions import DuplicateTaskNameWarning
from celery.signals import worker_process_init
from dagster import (
    DagsterRunStatus,
    Executor,
    ExecutorRequirement,
    Field,
    ReexecutionOptions,
    RunsFilter,
    Selector,
    execute_job,
    executor,
    multiple_process_executor_requirements,
)
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
)
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.errors import DagsterError
from dagster._core.events import DagsterEvent
from dagster._core.execution.plan.objects import ErrorSource, StepFailureData
from dagster._core.execution.retries import RetryMode
from dagster._serdes import serialize_value
from dagster._utils.error import serializable_error_info_from_exc_info
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

from attain.settings import SettingsError
from pipelines.resources import REPO_ROOT, Environment, read_environment

#: The Celery settings of every Attain run and worker (deploy/celery_config.yaml holds the same).
CELERY_SETTINGS: dict[str, Any] = {
    "task_track_started": True,
    "worker_disable_prefetch": True,
    "worker_prefetch_multiplier": 1,
    "broker_connection_retry_on_startup": True,
}
#: The queue of ordinary steps (dagster-celery's default) and the one delivery runs on, alone.
DEFAULT_QUEUE = "dagster"
DELIVERY_QUEUE = "delivery"
#: Seconds a worker that started a step may go without answering a ping before the step counts as lost.
LOST_AFTER = 10.0
PING_EVERY = 3.0


class WorkerLost(DagsterError):
    """The Celery worker running a step stopped answering: the step's result will never come."""


class _WatchedResult:
    """A step's Celery result that is also "ready" when its worker is gone: the step then fails with
    ``WorkerLost`` (a step failure like any other, so the run summary names it and a re-execution from
    failure runs it again)."""

    def __init__(self, result, app, plan_context, step) -> None:
        self.result, self.app, self.plan_context, self.step = result, app, plan_context, step
        self.seen = self.checked = time.monotonic()
        self.lost = ""

    def ready(self) -> bool:
        if self.result.ready():
            return True
        info = self.result.info if self.result.state == "STARTED" else None
        host = info.get("hostname") if isinstance(info, dict) else None
        now = time.monotonic()
        if host and now - self.checked >= PING_EVERY:
            self.checked = now
            if self.app.control.ping(destination=[host], timeout=1.0):
                self.seen = now
            elif now - self.seen > LOST_AFTER:
                self.lost = host
                return True
        return False

    def get(self):
        if not self.lost:
            return self.result.get()
        try:
            raise WorkerLost(f"Celery worker {self.lost} stopped answering while running step {self.step.key}")
        except WorkerLost:
            error = serializable_error_info_from_exc_info(sys.exc_info())
        failure = StepFailureData(error=error, user_failure_data=None, error_source=ErrorSource.FRAMEWORK_ERROR)
        return [serialize_value(DagsterEvent.step_failure_event(self.plan_context.for_step(self.step), failure))]

    def revoke(self) -> None:
        self.result.revoke()


def _submit_watched(app, plan_context, step, queue, priority, known_state) -> _WatchedResult:
    with warnings.catch_warnings():  # dagster-celery registers its task again for each step it submits
        warnings.simplefilter("ignore", DuplicateTaskNameWarning)
        return _WatchedResult(
            _submit_task(app, plan_context, step, queue, priority, known_state), app, plan_context, step
        )


def _allow_render_processes(**_kwargs) -> None:
    """Celery marks the processes of its pool daemonic, and Python refuses to start processes from a daemonic
    one; the packs stage starts render processes of its own and stops them itself (``render_packs``)."""
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]


class WatchedCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor whose steps fail when their worker is lost (module docstring)."""

    def execute(self, plan_context, execution_plan):
        from dagster_celery.core_execution_loop import core_celery_execution_loop

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=_submit_watched)


def celery_config(broker: str, backend: str = "") -> dict[str, Any]:
    """The ``celery`` executor config of a run on ``broker`` (results kept on ``backend``, default the broker)."""
    return {"broker": broker, "backend": backend or broker, "config_source": dict(CELERY_SETTINGS)}


def default_execution(env: Environment | None = None) -> dict[str, Any]:
    """The executor config ATTAIN_EXECUTOR asks for: ``{"in_process": {}}`` (unset) or ``{"celery": ...}`` on
    ATTAIN_CELERY_BROKER (results on ATTAIN_CELERY_BACKEND, default the broker)."""
    env = env or read_environment()
    if env.executor == "in_process":
        return {"in_process": {}}
    if env.executor != "celery":
        raise SettingsError(f"ATTAIN_EXECUTOR={env.executor!r}: write in_process (the default) or celery")
    if not env.celery_broker:
        raise SettingsError("ATTAIN_EXECUTOR=celery needs ATTAIN_CELERY_BROKER, e.g. redis://localhost:6379/0")
    return {"celery": celery_config(env.celery_broker, env.celery_backend)}


def _requirements(config: Mapping[str, object]) -> Sequence[ExecutorRequirement]:
    return [] if "in_process" in config else multiple_process_executor_requirements()


def month_end_executor(default: dict | None = None):
    """The executor of the month-end: ``default`` (``{"celery": celery_config(...)}``, say) unless the run
    config chooses; in-process when neither does."""
    modes = {"in_process": IN_PROC_CONFIG, "multiprocess": MULTI_PROC_CONFIG, "celery": Field(CELERY_CONFIG)}

    @executor(
        name="attain",
        config_schema=Field(Selector(modes), default_value=default or {"in_process": {}}),
        requirements=_requirements,
    )
    def attain_executor(init_context) -> Executor:
        config = init_context.executor_config
        if "celery" in config:
            celery = config["celery"]
            return WatchedCeleryExecutor(
                broker=celery.get("broker"),
                backend=celery.get("backend"),
                config_source=celery.get("config_source"),
                include=celery.get("include"),
                retries=RetryMode.from_config(celery["retries"]),
            )
        if "multiprocess" in config:
            return _core_multiprocess_executor_creation(config["multiprocess"])
        return _core_in_process_executor_creation(config["in_process"])

    return attain_executor


def worker_identity() -> dict[str, Any]:
    """Who runs the current step: the Celery worker's name (``name@host``) inside a worker, else the host
    name, and the process id; recorded in the metadata of the steps that fan out."""
    from celery import current_task

    request = current_task.request if current_task else None
    name = getattr(request, "hostname", None) or socket.gethostname()
    return {"worker": str(name), "pid": os.getpid()}


def worker_main(broker: str, backend: str, queues: list[str], name: str, concurrency: int, loglevel: str) -> None:
    """Run a dagster-celery worker on ``queues`` until it is stopped (``attain worker``)."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_execute_job_task, create_resume_job_task, create_task

    app = make_app(CeleryExecutor.for_cli(**celery_config(broker, backend)).app_args())
    create_task(app)
    create_execute_job_task(app)
    create_resume_job_task(app)
    worker_process_init.connect(_allow_render_processes, weak=False)
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "--prefetch-multiplier=1"]
    argv += ["-Q", ",".join(queues), "-n", f"{name}@%h", "--without-gossip", "--without-mingle"]
    app.worker_main(argv)


def run_on_workers(month: str, selection, instance, resources: Mapping[str, Any], run_config: dict, resume: bool):
    """Run ``month`` with the executor ``run_config`` names (Celery), or re-execute its last failed run.

    The steps run in other processes, which load the job from ``pipelines.definitions`` with the
    environment they were started with: every resource's configuration goes with the run (the run config),
    so a worker writes where this command would (``--var``, ``--data``, settings flags). Secrets stay
    environment variable names (``{"env": "ATTAIN_SMTP_PASSWORD"}``), read by the worker.
    """
    job = ReconstructableRepository.for_module(
        "pipelines.definitions", "defs", working_directory=str(REPO_ROOT)
    ).get_reconstructable_job("month_end")
    free_slots_of_ended_runs(instance)
    if resume:
        runs = instance.get_runs(RunsFilter(job_name="month_end", tags={"dagster/partition": month}), limit=1)
        if not runs or runs[0].status != DagsterRunStatus.FAILURE:
            raise SettingsError(f"--resume: the last run of {month} did not fail; there is nothing to resume")
        options = ReexecutionOptions.from_failure(runs[0].run_id, instance)
        return execute_job(job, instance, run_config=runs[0].run_config, tags=runs[0].tags, reexecution_options=options)
    config = {name: {"config": r._convert_to_config_dictionary()} for name, r in resources.items()}
    return execute_job(
        job,
        instance,
        run_config={**run_config, "resources": config},
        tags={"dagster/partition": month},
        asset_selection=selection,
    )


def free_slots_of_ended_runs(instance) -> None:
    """Give back the pool slots (``warehouse``, ``smtp``) still held by runs that have ended.

    A step killed with its worker never frees its slot, and every later step of that pool would wait for it.
    ``attain run`` holds the var folder's run lock, so no run of it is live: what dagster-daemon's run monitoring
    does for a production instance is done here before each run.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for pool in storage.get_concurrency_keys():
        for slot in storage.get_concurrency_info(pool).claimed_slots:
            run = instance.get_run_by_id(slot.run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(slot.run_id)
