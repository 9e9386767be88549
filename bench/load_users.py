"""The people bench_load.py simulates, for locust (run by bench_load.py, not on its own).

Three kinds of user work on one fully answered assessment of the 1,200-requirement framework, each signed in
with an account of its own: team members answer their own slice of requirements (so two of them never
conflict on one answer), attach links as evidence and open questionnaire pages; program leads open the
dashboard, the results, the trends and the backlog; auditors open the results and download the exports.

The plan (accounts, ids, each member's requirements with their revisions) is the JSON file named by
$LOAD_PLAN, written by bench_load.py. $LOAD_WAIT is "MIN,MAX", a person's pause between steps in seconds (the
latency run), or "none" (back to back: the throughput run).

With $LOAD_SETTLE (seconds) and $LOAD_ARRIVAL (a JSON file's path), the statistics are started again that long
after the last person has arrived, so the figures locust writes are the steady state of people at work; what
the arrival (every person's sign-in, an Argon2id hash each) was measured is written to $LOAD_ARRIVAL first,
its failures among them, so that none is lost.

Requests are named by route, not by URL ("save answer", "results"), so the statistics group them; bench_load.py
reads locust's CSV and sorts the names into pages and saves.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

import gevent
from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

PLAN = json.loads(open(os.environ["LOAD_PLAN"], encoding="utf-8").read())
_wait = os.environ.get("LOAD_WAIT", "2,8")
WAIT = constant(0) if _wait == "none" else between(*(float(part) for part in _wait.split(",")))
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_accounts = {kind: itertools.cycle(PLAN["users"][kind]) for kind in ("member", "lead", "auditor")}


def _arrival_figures(stats) -> dict:
    """What the statistics hold at the end of the arrival: counts, failures and each name's p95."""
    return {
        "requests": stats.total.num_requests,
        "errors": stats.total.num_failures,
        "p95_ms": {name: entry.get_response_time_percentile(0.95) for (name, _), entry in stats.entries.items()},
        "failures": [f"{e.name}: {e.error} ({e.occurrences})" for e in stats.errors.values()][:5],
    }


@events.spawning_complete.add_listener
def _settle_then_restart_statistics(user_count: int, **_kwargs) -> None:
    settle, record = os.environ.get("LOAD_SETTLE"), os.environ.get("LOAD_ARRIVAL")
    if not settle or not record:
        return
    runner = _environment["runner"]

    def restart() -> None:
        with open(record, "w", encoding="utf-8") as handle:
            json.dump(_arrival_figures(runner.stats), handle)
        runner.stats.reset_all()

    gevent.spawn_later(float(settle), restart)


_environment: dict = {}


@events.init.add_listener
def _keep_environment(environment, **_kwargs) -> None:
    _environment["runner"] = environment.runner


class Person(FastHttpUser):
    abstract = True
    kind = ""
    wait_time = WAIT

    def on_start(self) -> None:
        self.username = next(_accounts[self.kind])
        page = self.client.get("/login", name="sign-in page")
        form = {"csrf_token": TOKEN.search(page.text).group(1), "username": self.username, "password": PLAN["password"]}
        with self.client.post("/login", data=form, name="sign in", allow_redirects=False, catch_response=True) as done:
            if done.status_code != 302:
                done.failure(f"sign-in answered {done.status_code}")
        home = self.client.get("/", name="home")
        self.token = TOKEN.search(home.text).group(1)  # signing in starts a new session, with its own token

    def page(self, path: str, name: str) -> None:
        self.client.get(path, name=name)


class TeamMember(Person):
    kind = "member"
    weight = PLAN["mix"]["member"]

    def on_start(self) -> None:
        super().on_start()
        self.answers = [list(entry) for entry in PLAN["slices"][self.username]]
        self.saves = 0

    @task(6)
    def answer(self) -> None:
        entry = random.choice(self.answers)
        requirement, value, revision = entry
        self.saves += 1
        note = f"Checked again ({self.saves})."
        form = {"csrf_token": self.token, "value": value, "note": note, "revision": revision}
        with self.client.post(
            f"/assessments/{PLAN['assessment']}/answers/{requirement}",
            data=form,
            headers={"X-Requested-With": "fetch", "Accept": "application/json"},
            name="save answer",
            catch_response=True,
        ) as saved:
            if saved.status_code != 200:
                saved.failure(f"{saved.status_code}: {saved.text[:200]}")
            else:
                entry[2] = saved.json()["revision"]

    @task(2)
    def attach_link(self) -> None:
        requirement = random.choice(self.answers)[0]
        self.saves += 1
        form = {
            "csrf_token": self.token,
            "url": f"https://wiki.example.com/{self.username}/{self.saves}",
            "title": f"Runbook {self.saves}",
        }
        with self.client.post(
            f"/assessments/{PLAN['assessment']}/requirements/{requirement}/evidence",
            data=form,
            name="add link evidence",
            allow_redirects=False,
            catch_response=True,
        ) as added:
            if added.status_code != 302:
                added.failure(f"{added.status_code}: {added.text[:200]}")

    @task(2)
    def questionnaire(self) -> None:
        index = random.randrange(PLAN["domains"])
        self.page(f"/assessments/{PLAN['assessment']}/domains/{index}", "questionnaire page")


class Lead(Person):
    kind = "lead"
    weight = PLAN["mix"]["lead"]

    @task(3)
    def dashboard(self) -> None:
        self.page("/dashboard", "dashboard")

    @task(3)
    def results(self) -> None:
        self.page(f"/assessments/{PLAN['assessment']}/results", "results")

    @task(1)
    def trends(self) -> None:
        self.page(f"/scopes/{PLAN['scope']}/trends", "trends")

    @task(1)
    def backlog(self) -> None:
        self.page(f"/assessments/{PLAN['assessment']}/backlog", "backlog")

    @task(1)
    def home(self) -> None:
        self.page("/", "home")


class Auditor(Person):
    kind = "auditor"
    weight = PLAN["mix"]["auditor"]

    @task(3)
    def results(self) -> None:
        self.page(f"/assessments/{PLAN['assessment']}/results", "results")

    @task(2)
    def requirements_csv(self) -> None:
        self.page(f"/assessments/{PLAN['assessment']}/export/requirements.csv", "export requirements.csv")

    @task(1)
    def score_json(self) -> None:
        self.page(f"/assessments/{PLAN['assessment']}/export/score.json", "export score.json")
