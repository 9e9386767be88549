"""Serving the application: gunicorn for `assessment run` (and `make run`), Flask's development server
only behind `--dev`.

The application is built once, in gunicorn's master, before it forks its workers (preloaded): a key
known to be public, a signing key that cannot be read or a database URL that is wrong stops the start
with one line, instead of every worker failing and being restarted in a loop, and the workers share the
master's imported modules page for page. What must not be shared is reset in each worker: the database
engine's connections (`post_fork` below), the report rendering workers (reports/pool.py starts its own
per process) and the report thread (assessment/adapters/report_jobs.py).

Signals (gunicorn's): SIGHUP starts new workers on the same socket and stops the old ones gracefully;
SIGTERM stops accepting, lets requests in flight finish (up to GRACEFUL_SECONDS) and exits 0.

Beside the web workers, `assessment run` starts the background jobs' worker (`assessment worker`, see
adapters/background.py) under a small supervisor process of its own, which starts it again when it dies
and stops it when the server stops (or dies); `--no-worker` leaves that to workers run elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import signal
import subprocess
import sys
import time
from typing import Any, NoReturn

from flask import Flask

DEFAULT_WORKERS = 2
# Threads per worker: a page waiting on the database does not hold a whole process. Two, not more: each
# thread rendering a 1,200-requirement page at once holds its own tens of megabytes, and the load run
# measured the same requests a second with 2 as with 4 on this 2-core machine, in 35 MB less per worker.
THREADS = 2
MALLOC_ARENAS = 2  # glibc's malloc arenas per process (its default is 8 per core): see limit_malloc_arenas
M_ARENA_MAX = -8  # mallopt's parameter for it, from glibc's malloc.h
MMAP_THRESHOLD = 1 << 20  # a block of this size or more is mapped on its own and unmapped when freed
M_MMAP_THRESHOLD = -3  # mallopt's parameter for it, from glibc's malloc.h
TIMEOUT_SECONDS = 60  # a worker silent this long is stuck: killed and replaced
GRACEFUL_SECONDS = 30  # what SIGTERM and SIGHUP give requests in flight
LAUNCH = "from assessment.launch import main; main()"
RESTART_SECONDS = 1.0  # a job worker that died is started again after this (doubled while it keeps dying, to 30 s)


class BadSetting(ValueError):
    """A serving setting that cannot be used; the message names it and says what it takes."""


def workers_from_environment(environ: dict[str, str] | None = None) -> int:
    """The number of web worker processes: WEB_CONCURRENCY, else DEFAULT_WORKERS."""
    raw = (os.environ if environ is None else environ).get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_WORKERS
    if not raw.isdigit() or int(raw) < 1:
        raise BadSetting(f"WEB_CONCURRENCY is {raw!r}: set it to a whole number of worker processes, 1 or more")
    return int(raw)


def _without_server_header() -> None:
    """gunicorn writes `Server: gunicorn` before every response's own headers, with no setting to turn it
    off: drop that line, so a response does not name the software (and its version) behind it."""
    from gunicorn.http import wsgi

    if getattr(wsgi.Response.default_headers, "_without_server", False):
        return
    original = wsgi.Response.default_headers

    def default_headers(self) -> list[str]:
        return [line for line in original(self) if not line.lower().startswith("server:")]

    default_headers._without_server = True  # type: ignore[attr-defined]
    wsgi.Response.default_headers = default_headers  # type: ignore[method-assign]


def gunicorn_settings(host: str, port: int, workers: int, threads: int = THREADS) -> dict[str, Any]:
    """gunicorn's settings for this application."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "timeout": TIMEOUT_SECONDS,
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": 5,
        "preload_app": True,
        "accesslog": "-",
        "errorlog": "-",
        "control_socket_disable": True,  # gunicorn's control socket is one file per user: two servers would share it
        # The application trusts X-Forwarded-* only from TRUSTED_PROXIES (ProxyFix in app.py): gunicorn
        # must not trust them on its own from any local process.
        "forwarded_allow_ips": "",
        "secure_scheme_headers": {},
        "proc_name": "assessment",
    }


def job_worker_command() -> list[str]:
    """The command that runs one background jobs' worker, with this interpreter."""
    return [sys.executable, "-c", LAUNCH, "worker"]


def supervisor_command() -> list[str]:
    """The command that starts a job worker's supervisor (`assessment worker --supervised`) for this process,
    naming it as the server whose end ends the supervisor too.

    The pid is given, not read by the supervisor at its start: a server that dies while the supervisor is
    still importing would otherwise leave it taking its new parent (init) for the server, and running on."""
    return [*job_worker_command(), "--supervised", "--server-pid", str(os.getpid())]


def supervise(command: list[str] | None = None, server_pid: int | None = None) -> NoReturn:
    """Keep one job worker running until SIGTERM or SIGINT, or until the server that started this one (its
    parent, or `server_pid`) is gone: started again when it exits (after RESTART_SECONDS, doubled while it
    keeps dying soon after its start), sent SIGTERM and given GRACEFUL_SECONDS when this one stops."""
    command = command or job_worker_command()
    parent, stopping = server_pid or os.getppid(), []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the server's SIGHUP replaces web workers, not this one
    delay = RESTART_SECONDS
    while not stopping:
        started = time.monotonic()
        child = subprocess.Popen(command)
        while child.poll() is None and not stopping:
            if os.getppid() != parent:
                stopping.append(True)
                break
            time.sleep(0.2)
        if stopping:
            _stop(child)
            break
        lived = time.monotonic() - started
        delay = RESTART_SECONDS if lived > 30 else min(delay * 2, 30.0)
        print(f"job worker (pid {child.pid}) exited with {child.returncode}; starting it again", file=sys.stderr)
        for _ in range(int(delay / 0.2)):
            if stopping or os.getppid() != parent:
                break
            time.sleep(0.2)
    sys.exit(0)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=GRACEFUL_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas in this process and the workers it forks (MALLOC_ARENA_MAX, set where the
    environment no longer can). Each thread that allocates gets an arena of its own, and freed memory in
    one is not given back for another; with a few threads per worker that is most of a worker's growth
    under load. False where the C library is not glibc or refuses."""
    if os.environ.get("MALLOC_ARENA_MAX"):  # set by whoever started us: theirs to choose
        return False
    return _mallopt(M_ARENA_MAX, arenas)


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Map every block of `size` bytes or more on its own, so that it goes back to the system when freed
    (MALLOC_MMAP_THRESHOLD_, set where the environment no longer can).

    glibc starts at 128 KiB but raises the threshold to the size of each mapped block freed, up to 32 MiB,
    and serves the blocks below it from the heap, which keeps them once freed. A sign-in's Argon2id hash
    takes 19 MiB: after the first one, every hash came from the heap, and two at once left a web worker
    about 40 MB larger for good. A fixed threshold also stops that adjustment. False where the C library
    is not glibc, refuses, or whoever started us chose."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    return _mallopt(M_MMAP_THRESHOLD, size)


def _mallopt(parameter: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(parameter, value))
    except (OSError, AttributeError):
        return False


def serve(app: Flask, host: str, port: int, workers: int, threads: int = THREADS, with_job_worker: bool = True) -> None:
    """Serve the built application through gunicorn until it is stopped (SIGTERM, SIGINT), with a supervised
    job worker beside it unless `with_job_worker` is False."""
    from gunicorn.app.base import BaseApplication

    _without_server_header()
    limit_malloc_arenas()
    fix_mmap_threshold()
    supervisor = subprocess.Popen(supervisor_command()) if with_job_worker else None

    def on_exit(_server) -> None:
        if supervisor is not None:
            _stop(supervisor)

    def post_fork(_server, _worker) -> None:
        from .extensions import db

        with app.app_context():
            db.engine.dispose(close=False)  # the master's pooled connections stay the master's

    class Server(BaseApplication):
        def load_config(self) -> None:
            hooks = {"post_fork": post_fork, "on_exit": on_exit}
            for name, value in {**gunicorn_settings(host, port, workers, threads), **hooks}.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return app

    # What the master built is frozen before it forks: the collector in a worker then never touches those
    # objects, so their pages stay shared with the master instead of being copied into every worker.
    gc.collect()
    gc.freeze()
    Server().run()
