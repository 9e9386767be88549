"""Rendering processes kept ready for reports (the parent's side of reports.worker).

WeasyPrint takes over half a second to import and renders on one core. Every PDF is therefore
laid out by up to two workers, started as one process that imports WeasyPrint the moment it
starts and then forks the second worker, so the import is done once: a command calls `warm()`
before it reads its input, so that work overlaps its own, and the web app's workers stay ready
between reports (they stop after IDLE_SECONDS without work, and at exit).
The process that asks for a report never imports WeasyPrint, so it keeps a core free and its
memory small. Documents are handed to whichever worker is free next.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 300
DOCUMENT_SECONDS = 120  # a document of 240 table rows takes about 3 s; one that takes this long is stuck


def _default_size() -> int:
    return max(1, min(2, os.cpu_count() or 1))


@dataclass
class Rendered:
    """What a worker made of one HTML document."""

    pdf: bytes
    pages: int
    anchors: dict[str, int]
    stamps: dict[str, list]
    log: list[str]
    positions: dict[str, list] = field(default_factory=dict)  # element id: [page index, x, y] in points
    links: list[list] = field(default_factory=list)  # links to other documents: [page index, target, x1, y1, x2, y2]


class WorkerFailed(RuntimeError):
    """A worker could not render a document, or died. The message ends with the worker's last error
    line; `detail` holds the end of its traceback, for the log."""

    def __init__(self, what: str, detail: str) -> None:
        lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
        super().__init__(f"{what}: {lines[-1] if lines else 'no message'}")
        self.detail = detail


class TimeLimitReached(WorkerFailed):
    """The time limit of the render (see time_limit) ran out while documents were still being laid out; the
    workers busy with them were stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the report's time limit of {seconds:g} s ran out while it was rendered", "it was stopped")
        self.seconds = seconds


_limit: ContextVar[tuple[float, float] | None] = ContextVar("render_time_limit", default=None)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Within the block, a render that is still laying out documents `seconds` from now is stopped: the
    workers busy with it are killed (and started afresh for the next render) and TimeLimitReached is raised.
    A job's time limit thus holds inside its longest step, not only between steps. None: no limit."""
    token = _limit.set(None if seconds is None else (time.monotonic() + max(seconds, 0.0), seconds))
    try:
        yield
    finally:
        _limit.reset(token)


class _Worker:
    """The pipes to one rendering worker: a process of ours, or one forked by another worker."""

    def __init__(self, requests, replies, errors, group: int, process: subprocess.Popen | None = None) -> None:
        self.requests, self.replies, self.errors = requests, replies, errors
        self.group = group  # the process group: the process started and the worker it forked
        self.process = process  # None for the forked worker
        self.pid = None if process is None else process.pid  # the forked worker's, once it has answered
        self.killed = False  # stopped by _kill_group

    @classmethod
    def start(cls, count: int) -> list[_Worker]:
        """Start one process serving `count` (1 or 2) workers. With two, the second is forked from
        the first once that has imported WeasyPrint and laid out a first page: that work is done
        once, on one core, while the parent prepares its documents on the other."""
        errors = tempfile.TemporaryFile()
        theirs: tuple[int, ...] = ()
        args = []
        if count > 1:
            their_requests, our_requests = os.pipe()
            our_replies, their_replies = os.pipe()
            theirs = (their_requests, their_replies)
            args = ["--fork", str(their_requests), str(their_replies)]
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "reports.worker", *args],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                encoding="utf-8",
                pass_fds=theirs,
                process_group=0,  # so a worker that hangs can be stopped with the one it forked
            )
        except BaseException:
            if theirs:
                for fd in (our_requests, our_replies):
                    os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        workers = [cls(process.stdin, process.stdout, errors, process.pid, process)]
        if theirs:
            forked_requests = open(our_requests, "w", encoding="utf-8")  # noqa: SIM115  (closed by close())
            workers.append(cls(forked_requests, open(our_replies, encoding="utf-8"), errors, process.pid))  # noqa: SIM115
        return workers

    @property
    def alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        # A forked worker holds the only writing end of its reply pipe (its parent closed its own
        # copy once it had forked, or lost it by ending first): a hang-up there means it has ended.
        probe = select.poll()
        probe.register(self.replies.fileno(), select.POLLIN | select.POLLHUP | select.POLLERR)
        return not probe.poll(0)

    def render(
        self, path: Path, seconds: float = DOCUMENT_SECONDS, limit: tuple[float, float] | None = None
    ) -> Rendered:
        """Render one HTML file (its PDF is written beside it, read back and removed). A worker that
        has not answered within `seconds`, or by the deadline of `limit` ((monotonic deadline, seconds) of
        time_limit), is stopped, with the other worker of its process group."""
        wait = seconds if limit is None else max(0.0, min(seconds, limit[0] - time.monotonic()))
        try:
            self.requests.write(f"{path}\n")
            self.requests.flush()
            if not select.select([self.replies], [], [], wait)[0]:
                self._kill_group()
                if wait < seconds:
                    raise TimeLimitReached(limit[1])
                raise WorkerFailed(
                    f"a report rendering worker took longer than {seconds:g} s on one document", "it was stopped"
                )
            line = self.replies.readline()
        except (OSError, ValueError):  # a broken pipe, or one closed under us
            line = ""
        if not line:
            raise WorkerFailed("a report rendering worker stopped", self._stderr_tail())
        reply = json.loads(line)
        self.pid = reply.get("pid", self.pid)
        if "error" in reply:
            raise WorkerFailed("a report rendering worker failed", reply["error"])
        pdf_path = Path(f"{path}.pdf")
        try:
            return Rendered(
                pdf_path.read_bytes(),
                reply["pages"],
                reply["anchors"],
                reply["stamps"],
                reply["log"],
                reply.get("positions", {}),
                reply.get("links", []),
            )
        finally:
            pdf_path.unlink(missing_ok=True)

    def _kill_group(self) -> None:
        """Stop the process started and the worker it forked, whatever they are doing."""
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)

    def _stderr_tail(self) -> str:
        """The end of what the worker process (and any worker forked from it) wrote to stderr."""
        try:
            self.errors.seek(0)
            return self.errors.read()[-4000:].decode("utf-8", "replace")
        except ValueError:  # closed with the worker it was shared with
            return ""

    def close(self) -> None:
        """Close the worker's input: it leaves once it has read to the end. A process of ours that
        has not left within 10 s is killed, together with the worker it forked."""
        with contextlib.suppress(OSError, ValueError):
            self.requests.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._kill_group()
                self.process.wait()
        self.replies.close()
        self.errors.close()


class Pool:
    """Up to `size` rendering processes, started on demand and reused while work keeps coming."""

    def __init__(
        self, size: int | None = None, idle_seconds: float = IDLE_SECONDS, document_seconds: float = DOCUMENT_SECONDS
    ) -> None:
        self.size = size or _default_size()
        self.idle_seconds = idle_seconds
        self.document_seconds = document_seconds
        self._workers: list[_Worker] = []
        self._owner = os.getpid()
        self._lock = threading.Lock()  # one render at a time: the workers are the parallelism
        self._timer: threading.Timer | None = None

    def warm(self) -> None:
        """Start the workers now (without waiting for them), so their WeasyPrint import overlaps other work."""
        with self._lock:
            self._ensure(self.size)

    def _ensure(self, count: int) -> list[_Worker]:
        if self._owner != os.getpid():  # a forked copy of this pool: the pipes belong to the parent
            self._workers, self._owner = [], os.getpid()
        alive = []
        for worker in self._workers:
            if worker.alive:
                alive.append(worker)
            else:
                worker.close()
        while len(alive) < min(count, self.size):
            alive.extend(_Worker.start(min(count, self.size) - len(alive)))
        self._workers = alive
        return alive[:count]

    def render(self, htmls: list[str], then: Callable[[int, Rendered], None] | None = None) -> list[Rendered]:
        """Render every HTML document; results come back in the order given. `then`, when given, is
        called with each document's index and result as soon as its worker answers, in the pool's
        threads (the merge starts there, while the other worker is still busy)."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            try:
                return self._render(htmls, then)
            finally:
                self._timer = threading.Timer(self.idle_seconds, self.close)
                self._timer.daemon = True
                self._timer.start()

    def _render(self, htmls: list[str], then: Callable[[int, Rendered], None] | None) -> list[Rendered]:
        limit = _limit.get()
        if limit is not None and time.monotonic() >= limit[0]:
            raise TimeLimitReached(limit[1])
        workers = self._ensure(len(htmls))
        results: list[Rendered | None] = [None] * len(htmls)
        failures: list[BaseException] = []
        with tempfile.TemporaryDirectory(prefix="report-") as tmp:
            todo: queue.Queue[tuple[int, Path]] = queue.Queue()
            # the largest documents first, so the last one to finish is a small one
            for index in sorted(range(len(htmls)), key=lambda i: -len(htmls[i])):
                path = Path(tmp) / f"part-{index:03d}.html"
                path.write_text(htmls[index], encoding="utf-8")
                todo.put((index, path))

            def serve(worker: _Worker) -> None:
                while not failures:
                    try:
                        index, path = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        result = worker.render(path, self.document_seconds, limit)
                        if then is not None:
                            then(index, result)
                        results[index] = result
                    except BaseException as exc:
                        failures.append(exc)

            if len(workers) == 1:
                serve(workers[0])
            else:
                threads = [threading.Thread(target=serve, args=(w,), daemon=True) for w in workers]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        if failures:
            if any(worker.killed for worker in workers):
                # A worker stopped here took the other one of its process group with it, and may not look
                # dead yet (SIGKILL lands a moment later): let both go now, and start afresh next time.
                for worker in self._workers:
                    worker.close()
                self._workers = []
            # the time limit, when it was reached, is the cause: the other worker of the group saw only its end
            raise next((f for f in failures if isinstance(f, TimeLimitReached)), failures[0])
        return [r for r in results if r is not None]

    def close(self) -> None:
        """Stop every worker (they are started again when needed)."""
        with self._lock:
            if self._owner == os.getpid():
                for worker in self._workers:
                    worker.close()
            self._workers = []


_pool = Pool()
atexit.register(_pool.close)


def warm() -> None:
    """Start the shared pool's workers now; see the module's docstring."""
    _pool.warm()


def render(htmls: list[str], then: Callable[[int, Rendered], None] | None = None) -> list[Rendered]:
    """Render documents with the shared pool; see Pool.render."""
    return _pool.render(htmls, then)
