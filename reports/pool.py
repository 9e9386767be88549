"""Rendering processes kept ready for reports (the parent's side of reports.worker).

WeasyPrint takes about a second to import and renders on one core. Every PDF is therefore laid
out by up to two worker processes, which import WeasyPrint the moment they start: a command
calls `warm()` before it reads its input, so the import overlaps that work, and the web app's
workers stay ready between reports (they stop after IDLE_SECONDS without work, and at exit).
The process that asks for a report never imports WeasyPrint, so it keeps a core free and its
memory small. Documents are handed to whichever worker is free next.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 300


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


class WorkerFailed(RuntimeError):
    """A worker could not render a document, or died. The message ends with the worker's last error
    line; `detail` holds the end of its traceback, for the log."""

    def __init__(self, what: str, detail: str) -> None:
        lines = [line.strip() for line in detail.strip().splitlines() if line.strip()]
        super().__init__(f"{what}: {lines[-1] if lines else 'no message'}")
        self.detail = detail


class _Worker:
    """One rendering process and its pipes."""

    def __init__(self) -> None:
        self.errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reports.worker"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
            text=True,
            encoding="utf-8",
        )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def render(self, path: Path) -> Rendered:
        """Render one HTML file (its PDF is written beside it, read back and removed)."""
        try:
            self.process.stdin.write(f"{path}\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            raise WorkerFailed("a report rendering worker stopped", self._stderr_tail())
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerFailed("a report rendering worker failed", reply["error"])
        pdf_path = Path(f"{path}.pdf")
        try:
            return Rendered(pdf_path.read_bytes(), reply["pages"], reply["anchors"], reply["stamps"], reply["log"])
        finally:
            pdf_path.unlink(missing_ok=True)

    def _stderr_tail(self) -> str:
        self.errors.seek(0)
        return self.errors.read()[-4000:].decode("utf-8", "replace")

    def close(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.errors.close()


class Pool:
    """Up to `size` rendering processes, started on demand and reused while work keeps coming."""

    def __init__(self, size: int | None = None, idle_seconds: float = IDLE_SECONDS) -> None:
        self.size = size or _default_size()
        self.idle_seconds = idle_seconds
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
            alive.append(_Worker())
        self._workers = alive
        return alive[:count]

    def render(self, htmls: list[str]) -> list[Rendered]:
        """Render every HTML document; results come back in the order given."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            try:
                return self._render(htmls)
            finally:
                self._timer = threading.Timer(self.idle_seconds, self.close)
                self._timer.daemon = True
                self._timer.start()

    def _render(self, htmls: list[str]) -> list[Rendered]:
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
                        results[index] = worker.render(path)
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
            raise failures[0]
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


def render(htmls: list[str]) -> list[Rendered]:
    """Render documents with the shared pool."""
    return _pool.render(htmls)
