"""`assessment worker` as a real process, on the database and instance folder of a test's application, so a
job queued through the test client is taken from the real queue (the instance's SQLite queue file)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import S3_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "from assessment.launch import main; main()"
QUICK = {  # a lost worker is noticed within seconds, and a retry does not wait
    "ASSESSMENT_JOB_LEASE_SECONDS": "3",
    "ASSESSMENT_JOB_SWEEP_SECONDS": "1",
    "ASSESSMENT_JOB_RETRY_DELAY_SECONDS": "0",
}


def worker_env(app, **extra: str) -> dict[str, str]:
    """The environment of a worker sharing `app`'s database, instance folder and queue, and nothing else of
        this process's ASSESSMENT_* settings (the test's application does not read them either) but its object
    storage, when it has one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSESSMENT_") and k not in {"REDIS_URL"}}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=secrets.token_urlsafe(32),
        ASSESSMENT_INSTANCE_PATH=app.instance_path,
        ASSESSMENT_EVIDENCE_DIR=app.config["EVIDENCE_DIR"],
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        **QUICK,
    )
    if app.config.get("S3_BUCKET"):  # under bin/with-stack: the application's bucket and key prefix
        for name in (*S3_SETTINGS, "S3_PREFIX"):
            if app.config.get(name):
                env[f"ASSESSMENT_{name}"] = str(app.config[name])
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
        env["ASSESSMENT_JOBS_QUEUE_NAME"] = app.config["JOBS_QUEUE_NAME"]
    env.update(extra)
    return env


class Worker:
    """One `assessment worker` process; its output goes to a log file beside the instance."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killing it kills its renderers too
            )

    @classmethod
    def for_app(cls, app, name: str = "worker", **extra: str) -> Worker:
        return cls(worker_env(app, **extra), Path(app.instance_path) / f"{name}.log")

    def kill(self) -> None:
        """SIGKILL, as a machine that loses power: nothing is given back."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(predicate, seconds: float = 120, every: float = 0.1, what: str = "the condition"):
    """The predicate's first true value within `seconds`, or AssertionError."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
