"""`assessment run` (what `make run` calls) serves through gunicorn: two worker processes by default, no
Server header naming the stack, fingerprinted static files cached for good, SIGHUP replaces the workers
and SIGTERM stops it cleanly; `--dev` is Flask's development server. Each test talks to a real server
process over a socket, on an instance prepared by `assessment init` (SQLite, the embedded default)."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, make_url, text

pytestmark = pytest.mark.slow  # server processes

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = "from assessment.launch import main; main()"
STACK_NAMES = re.compile(r"gunicorn|werkzeug|python", re.IGNORECASE)


def _env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "WEB_CONCURRENCY"}}
    env.update(
        DATABASE_URL=(instance / "database_url").read_text(),
        ASSESSMENT_INSTANCE_PATH=str(instance),
        ASSESSMENT_PASSWORD_TIME_COST="1",
        ASSESSMENT_PASSWORD_MEMORY_KIB="64",
        ASSESSMENT_JOBS_QUEUE_NAME=f"test-{instance.name}",  # under bin/with-stack: a Redis queue of its own
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `assessment run` process and what the tests need of it."""

    def __init__(self, instance: Path, *args: str, **env: str) -> None:
        self.port = _free_port()
        self.log = instance / f"server-{self.port}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", LAUNCH, "run", "--host", "127.0.0.1", "--port", str(self.port), *args],
                cwd=ROOT,
                env=_env(instance, **env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/login").status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"the server did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        connection = self.connection()
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        connection.close()
        return response

    def children(self) -> set[int]:
        """The web workers: the processes whose parent is the server's master, but for the job worker's supervisor."""
        return {pid for pid in _children_of(self.process.pid) if "worker" not in _arguments(pid)}

    def supervisor(self) -> int | None:
        """The job worker's supervisor the master started (`assessment worker --supervised`), if any."""
        found = [pid for pid in _children_of(self.process.pid) if "--supervised" in _arguments(pid)]
        return found[0] if found else None

    def workers(self, expected: int, seconds: float = 30) -> set[int]:
        """The master's children once there are `expected` of them (gunicorn forks its workers one by
        one, after the first can already answer), or what there is after `seconds`."""
        deadline = time.monotonic() + seconds
        found = self.children()
        while len(found) != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            found = self.children()
        return found

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _children_of(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.add(int(entry.name))
    return found


def _arguments(pid: int) -> list[str]:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    """A database of these tests' own, so `assessment init` finds it empty and adds the demo: a SQLite
    file, or on PostgreSQL (DATABASE_URL) a database created beside the suite's and dropped after."""
    shared = os.environ.get("DATABASE_URL", "")
    if not shared.startswith("postgresql"):
        yield f"sqlite:///{tmp_path_factory.mktemp('database') / 'assessment.db'}"
        return
    server = make_url(shared)
    name = f"{server.database}_serving"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def instance(tmp_path_factory, database_url) -> Path:
    folder = tmp_path_factory.mktemp("instance")
    (folder / "database_url").write_text(database_url)
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "init"], cwd=ROOT, env=_env(folder), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def server(instance):
    running = Server(instance)
    yield running
    running.stop()


def _csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()


def _signed_in(server: Server, username: str = "team") -> tuple[str, str]:
    """The session cookie and CSRF token of a signed-in demo user."""
    page = server.get("/login")
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = _csrf_token(page.body)
    connection = server.connection()
    form = {"csrf_token": token, "username": username, "password": f"{username}-demo-pass", "next": ""}
    connection.request(
        "POST",
        "/login",
        body=urlencode(form),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 302, response.status
    jar = _kept(response, {})
    home = server.get("/", headers={"Cookie": _cookie(jar)})  # signing in starts a new session, with its own token
    assert home.status == 200, home.status
    return _cookie(_kept(home, jar)), _csrf_token(home.body)


def _kept(response: http.client.HTTPResponse, jar: dict[str, str]) -> dict[str, str]:
    """The cookies a response sets, added to those already kept."""
    for line in response.headers.get_all("Set-Cookie") or []:
        name, value = line.split(";", 1)[0].split("=", 1)
        jar[name] = value
    return jar


def _cookie(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


def test_make_run_serves_through_gunicorn_with_two_workers(server):
    workers = server.workers(2)
    assert len(workers) == 2, workers
    assert "Starting gunicorn" in server.log.read_text()


def test_no_server_header_names_the_stack(server):
    page = server.get("/login")
    assert page.status == 200
    assert not STACK_NAMES.search(page.getheader("Server") or ""), page.getheader("Server")
    assert server.get("/no/such/page").getheader("Server") is None


def test_static_files_have_fingerprinted_urls_cached_for_good(server, instance):
    page = server.get("/login")
    urls = re.findall(rb'(?:href|src)="(/static/[^"]+)"', page.body)
    assert urls and all(re.search(rb"\?v=[0-9a-f]{12}$", url) for url in urls), urls
    css = next(url.decode() for url in urls if b"app.css" in url)
    import hashlib

    content = (ROOT / "assessment" / "static" / "app.css").read_bytes()
    assert css.endswith("?v=" + hashlib.sha256(content).hexdigest()[:12])
    fingerprinted = server.get(css)
    assert fingerprinted.status == 200 and fingerprinted.body == content
    assert fingerprinted.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    plain = server.get("/static/app.css")
    assert plain.getheader("Cache-Control") == "public, max-age=300"
    stale = server.get("/static/app.css?v=000000000000")  # an old page's URL: the new file, not kept for good
    assert stale.getheader("Cache-Control") == "public, max-age=300"


def test_sixteen_clients_on_the_results_page_and_the_answer_save_get_no_error(server, instance):
    cookie, token = _signed_in(server)
    engine = create_engine((instance / "database_url").read_text())
    with engine.connect() as database:
        draft = database.execute(text("SELECT id FROM assessment WHERE status = 'draft' ORDER BY id")).first()[0]
        answers = database.execute(
            text(
                "SELECT requirement_id, revision FROM answer WHERE assessment_id = :a ORDER BY requirement_id LIMIT 16"
            ),
            {"a": draft},
        ).all()
    engine.dispose()
    assert len(answers) == 16
    failures: list[str] = []
    counts = {"results": 0, "saves": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + 4

    def client(requirement: str, revision: int) -> None:
        connection = server.connection()
        headers = {"Cookie": cookie}
        value = 0
        try:
            while time.monotonic() < deadline:
                connection.request("GET", f"/assessments/{draft}/results", headers=headers)
                page = connection.getresponse()
                page.read()
                form = {"csrf_token": token, "value": ("yes", "no")[value % 2], "note": "", "revision": revision}
                connection.request(
                    "POST",
                    f"/assessments/{draft}/answers/{requirement}",
                    body=urlencode(form),
                    headers={
                        **headers,
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Requested-With": "fetch",
                    },
                )
                saved = connection.getresponse()
                body = saved.read()
                value += 1
                with lock:
                    if page.status != 200:
                        failures.append(f"results: {page.status}")
                    elif saved.status != 200:
                        failures.append(f"save {requirement}: {saved.status} {body[:200]!r}")
                    else:
                        counts["results"] += 1
                        counts["saves"] += 1
                        revision = int(re.search(rb'"revision":\s*(\d+)', body).group(1))
        except Exception as error:  # noqa: BLE001 (a reset connection is a failure too)
            with lock:
                failures.append(f"{requirement}: {error!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=answer) for answer in answers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not failures, failures[:5]
    assert counts["saves"] >= 16, counts
    assert "database is locked" not in server.log.read_text()


def test_a_report_renders_in_a_worker_and_its_download_is_not_cached_publicly(server):
    cookie, token = _signed_in(server)
    connection = server.connection()
    connection.request(
        "POST",
        "/assessments/1/reports/pdf",
        body=urlencode({"csrf_token": token}),
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    queued = connection.getresponse()
    queued.read()
    connection.close()
    assert queued.status == 302, queued.status
    job = re.search(r"/reports/(\d+)", queued.getheader("Location")).group(1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # polled on whichever worker answers
        status = server.get(f"/reports/{job}/status", headers={"Cookie": cookie, "X-Requested-With": "fetch"})
        state = re.search(rb'"status":\s*"(\w+)"', status.body).group(1)
        if state in (b"done", b"failed"):
            break
        time.sleep(0.5)
    assert state == b"done", status.body
    pdf = server.get(f"/reports/{job}/download", headers={"Cookie": cookie})
    assert pdf.status == 200 and pdf.body.startswith(b"%PDF")
    assert "public" not in (pdf.getheader("Cache-Control") or "") and "immutable" not in (
        pdf.getheader("Cache-Control") or ""
    )


def test_a_supervised_job_worker_runs_beside_the_web_workers_and_is_started_again_when_it_dies(server):
    supervisor = server.supervisor()
    assert supervisor is not None, server.log.read_text()
    deadline = time.monotonic() + 30
    while not (jobs := _children_of(supervisor)) and time.monotonic() < deadline:
        time.sleep(0.1)
    args = _arguments(next(iter(jobs)))
    assert len(jobs) == 1 and "worker" in args and "--supervised" not in args, jobs
    (first,) = jobs
    os.kill(first, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        again = {pid for pid in _children_of(supervisor) if _alive(pid)}
        if again and first not in again:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the job worker was not started again: {_children_of(supervisor)}")
    assert "starting it again" in server.log.read_text()


def test_a_supervisor_whose_server_died_before_it_started_stops_instead_of_running_on(instance):
    """A server that dies while its supervisor is still starting (a bad setting, a kill) must not leave the
    supervisor and its job worker running for good under init: the server's pid is given to it."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "worker", "--supervised", "--server-pid", str(gone.pid)],
        cwd=ROOT,
        env=_env(instance),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30, "the supervisor ran on after its server was gone"


def test_sighup_replaces_the_workers_and_keeps_serving(server):
    before = server.children()
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = server.children()
        if len(now) == 2 and not now & before:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the workers were not replaced: {before} then {server.children()}")
    assert server.get("/login").status == 200


def test_sigterm_stops_it_cleanly(instance):
    running = Server(instance)
    supervisor = running.supervisor()
    deadline = time.monotonic() + 30
    while supervisor and not _children_of(supervisor) and time.monotonic() < deadline:
        time.sleep(0.1)
    jobs = _children_of(supervisor) if supervisor else set()
    assert supervisor and jobs, running.log.read_text()
    assert running.stop() == 0
    log = running.log.read_text()
    assert "Shutting down: Master" in log and "Traceback" not in log
    assert not _alive(supervisor) and not any(_alive(pid) for pid in jobs)  # the job worker stopped with it


def test_no_worker_starts_no_job_worker(instance):
    running = Server(instance, "--no-worker")
    try:
        assert running.supervisor() is None and len(running.workers(2)) == 2
    finally:
        running.stop()


def test_sigterm_lets_a_request_in_flight_finish(instance):
    running = Server(instance)
    body = b"username=team&password=wrong"
    with socket.create_connection(("127.0.0.1", running.port), timeout=30) as client:
        head = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        client.sendall(f"{head}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        time.sleep(1)  # the worker has the request and waits for its body
        running.process.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert running.process.poll() is None  # still finishing
        client.sendall(body)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]  # the sign-in form without its token: answered
    assert running.process.wait(timeout=60) == 0


def test_web_concurrency_sets_the_workers_and_a_bad_value_is_refused(instance):
    three = Server(instance, WEB_CONCURRENCY="3")
    try:
        assert len(three.workers(3)) == 3
    finally:
        three.stop()
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "run", "--port", "0"],
        cwd=ROOT,
        env=_env(instance, WEB_CONCURRENCY="many"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.strip().startswith("error: WEB_CONCURRENCY is 'many'"), done.stderr


def test_dev_serves_through_the_development_server(instance):
    dev = Server(instance, "--dev")
    try:
        assert "Werkzeug" in (dev.get("/login").getheader("Server") or "")
        assert not dev.children()  # one process, no workers
    finally:
        dev.stop()
