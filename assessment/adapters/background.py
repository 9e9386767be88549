"""Background jobs on a shared queue (Huey): web processes put messages on it, `assessment worker` processes
take them, on this machine or any other that reaches the same queue and database.

The queue is Redis when REDIS_URL is set (every machine's web and worker processes share it), else a SQLite
file in the instance folder (instance/queue.db: one machine, no other server to run). A message only says
"render job N"; the job's row in the database says what it is and how far it got, so whichever web process
is asked shows the same state, and a message given twice is harmless (the second claim finds the job taken).

The worker also sweeps: every JOB_SWEEP_SECONDS it settles the running jobs whose lease ran out (their
worker died or hung), queuing them again or failing them after their last attempt (domain/jobs.py).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flask import Flask

from . import job_state

if TYPE_CHECKING:
    from huey.api import Huey

QUEUE = "assessment.queue"  # app.extensions key: (process id, Huey instance)
RENDER_REPORT = "report.render"  # the task's name in messages: the same in every process
QUEUE_FILE = "queue.db"


def kind(app: Flask) -> str:
    """Which queue the application uses: "redis" or "sqlite"."""
    return "redis" if app.config.get("REDIS_URL") else "sqlite"


def queue_file(app: Flask) -> Path:
    """The embedded queue's file (instance/queue.db)."""
    return Path(app.instance_path) / QUEUE_FILE


# What huey imports whenever it is installed, though this application never uses it: its PostgreSQL
# storage's psycopg and its greenlet workers' gevent (the worker runs threads); about 12 MB resident in
# every web process, so they are kept out of its import. (redis stays: huey binds its Redis class into its
# storage classes when they are defined, so a process could not give it back for a later REDIS_URL.)
UNUSED_BY_HUEY = ("psycopg", "gevent")


def _huey() -> ModuleType:
    """The huey package, imported without the modules of UNUSED_BY_HUEY (each import of them inside huey
    raises ImportError, which huey expects of a module that is not installed)."""
    import sys

    if "huey" not in sys.modules:
        blocked = [name for name in UNUSED_BY_HUEY if name not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # type: ignore[assignment]
        try:
            import huey
        finally:
            for name in blocked:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]
    import huey

    return huey


def huey_for(app: Flask) -> Huey:
    """The application's queue, with its tasks, made once per process (a forked web worker makes its own
    connections rather than share its master's)."""
    made = app.extensions.get(QUEUE)
    if made is not None and made[0] == os.getpid():
        return made[1]
    name = str(app.config.get("JOBS_QUEUE_NAME") or "assessment")
    options: dict[str, Any] = {"results": False, "utc": True}
    library = _huey()
    if kind(app) == "redis":
        huey: Huey = library.RedisHuey(name, url=app.config["REDIS_URL"], **options)
    else:
        queue_file(app).parent.mkdir(parents=True, exist_ok=True)
        huey = library.SqliteHuey(name, filename=str(queue_file(app)), timeout=10, **options)
    _declare_tasks(huey, app)
    app.extensions[QUEUE] = (os.getpid(), huey)
    return huey


def _declare_tasks(huey: Huey, app: Flask) -> None:
    from ..extensions import report_store
    from . import report_jobs

    @huey.task(name=RENDER_REPORT)
    def render_report(job_id: int) -> None:
        """Render one report job (its row says what, and records how it went)."""
        report_jobs.run_job(app, job_id, report_store(app))

    huey._assessment_tasks = {RENDER_REPORT: render_report}  # type: ignore[attr-defined]


def enqueue_report(app: Flask, job_id: int, delay: float = 0) -> None:
    """Queue a message to render this report job, now or after `delay` seconds."""
    task = huey_for(app)._assessment_tasks[RENDER_REPORT]  # type: ignore[attr-defined]
    if delay > 0:
        task.schedule((job_id,), delay=delay)
    else:
        task(job_id)


def depth(app: Flask) -> int:
    """Messages waiting on the queue (not counting those scheduled for a later retry)."""
    return int(huey_for(app).pending_count())


def ping(app: Flask, timeout: float) -> None:
    """Raise unless the queue answers within `timeout` seconds: Redis's PING, or the SQLite file takes a write."""
    if kind(app) == "redis":
        import redis

        client = redis.Redis.from_url(app.config["REDIS_URL"], socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    huey = huey_for(app)
    key = f"readyz-{os.getpid()}"
    huey.storage.put_data(key, b"1")
    huey.storage.pop_data(key)


def run_worker(app: Flask, *, sweep_seconds: float | None = None) -> None:
    """Run the consumer (one job at a time: rendering takes a core and much memory) and the sweep until
    SIGINT or SIGTERM; the jobs this worker holds when it stops are queued again."""
    from ..extensions import db

    huey = huey_for(app)
    policy = job_state.policy_of(app)
    worker = job_state.worker_name()
    app.config["JOB_WORKER_NAME"] = worker  # what run_job writes on the jobs this process claims
    every = float(sweep_seconds or app.config["JOB_SWEEP_SECONDS"])
    with app.app_context():
        for job_id in job_state.waiting():
            enqueue_report(app, job_id)
        db.session.remove()
    stop = threading.Event()

    def sweeper() -> None:
        while True:
            try:
                with app.app_context():
                    for job_id, delay in job_state.sweep(policy):
                        app.logger.warning("Report job %s lost its worker; queued again", job_id)
                        enqueue_report(app, job_id, delay)
                    db.session.remove()
            except Exception:  # noqa: BLE001 (the next sweep tries again; the worker keeps going)
                app.logger.exception("The job sweep failed")
            if stop.wait(every):
                return

    thread = threading.Thread(target=sweeper, name="job-sweep", daemon=True)
    thread.start()
    consumer = huey.create_consumer(workers=1, worker_type="thread", periodic=False, max_delay=1.0)
    app.logger.info("Worker %s takes jobs from the %s queue", worker, kind(app))
    try:
        consumer.run()
    finally:
        stop.set()
        with app.app_context():
            for job_id in job_state.release(worker):
                enqueue_report(app, job_id)
            db.session.remove()
