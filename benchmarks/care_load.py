"""Figure: the care service under load (issue 12): 50 concurrent users (locust) for 5 minutes on loopback,
mixed reads and writes, on PostgreSQL, served by waitress (`icsys serve`). Target: p95 <= 300 ms, no
errors, no lost updates.

Creates its own databases (care, audit, re-identification) on the PostgreSQL server of
ICSYS_TEST_POSTGRES_URL (start it with `eval "$(.ci/postgres)"`), loads the demonstration, serves it,
and runs the users in this process. Each user holds a token of each demonstration role and does, by weight:
lists (referrals, tasks, people: the API's default page of 50, each list's total counted in SQL), a person's
timeline (its newest 50 events), care plan reads, care plan edits with If-Match
(each edit adds an action naming itself; a 412 is re-read and retried after a pause, `--stale-pause`, as a
person reads the newer version before reapplying their change), a referral created and triaged,
and the new tasks accepted and completed by the service. At the end every accepted plan edit must be in
the plan's final version (no lost update). Prints p50/p95/p99 latency, requests per second, errors, and
the server's CPU time per request (the cost of a request, whatever else the machine runs) and the machine's
load average before, during and after the run (a shared machine's p95 is mostly its other work).

    eval "$(.ci/postgres)"
    .venv/bin/python benchmarks/care_load.py [--users 50] [--duration 300] [--threads 16] [--stale-pause 1.0]

`--stale-pause 0` retries a stale edit at once, as the runs before 1 December 2026 15:00 did: 50 users then
storm one plan, and 6 in 10 of all requests are stale edits and their re-reads.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ICSYS = [sys.executable, "-m", "icsys"]
NAMES = ("care", "audit", "reid")
PLAN_PEOPLE = ("PDEMO0003",)  # Dorothy: her shared plan is edited by her GP, the nurses and social care
PLAN_EDITORS = ("gita.gp", "dina.nurse", "will.social")
ACCEPTED: list[tuple[str, str]] = []  # (person, edit id) of every edit the server accepted
STALE: list[str] = []  # edits refused 412 (another editor got there first) and retried
STALE_PAUSE = [1.0]  # at most this many seconds (uniform from a fifth of it) before a stale edit is retried


def databases(server_url: str) -> dict[str, str]:
    """A fresh database for each of care, audit and re-identification on the server of `server_url`."""
    import psycopg

    parts = urlsplit(server_url)
    urls = {}
    with psycopg.connect(server_url, autocommit=True) as con:
        for name in NAMES:
            db = f"icsys_load_{name}"
            con.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            con.execute(f"CREATE DATABASE {db}")
            urls[name] = urlunsplit(parts._replace(path=f"/{db}"))
    return urls


def environment(urls: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ICSYS_"))}
    env.update(ICSYS_CARE_DB=urls["care"], ICSYS_AUDIT_URL=urls["audit"], ICSYS_REID_URL=urls["reid"],
               ICSYS_SECRET_KEY=secrets.token_urlsafe(48), ICSYS_ALLOW_TEST_NHS_NUMBERS="1")
    return env


LOAD_DEMO = """
import json, sys
from icsys.web import runtime
runtime.configure(sys.argv[1]); runtime.migrate()
from icsys.care.demo import demo_practice, load_demo
from icsys.care.models import User
from icsys.web.auth import issue_token
load_demo()
print(json.dumps({"practice": demo_practice().code,
                  "tokens": {u.username: issue_token(u)[0] for u in User.objects.all()}}))
"""


def load(env: dict[str, str], care_url: str) -> dict[str, object]:
    """The demonstration loaded; a bearer token per user (issued directly: sign-in is not what is measured)."""
    done = subprocess.run([sys.executable, "-c", LOAD_DEMO, care_url], env=env, capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    if done.returncode != 0:
        sys.exit(f"loading the demonstration failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def serve(env: dict[str, str], care_url: str, threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([*ICSYS, "serve", "--db", care_url, "--port", str(port), "--threads", str(threads)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{base}/api/openapi.json", timeout=2)
            return server, base
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit("the server did not start")


MEDWAY_ASC = "E06000035-ASC"
VERA = {"nhs_number": "9990000018", "given_name": "Vera", "family_name": "Hughes", "birth_date": "1946-05-14"}


def users_class(tokens: dict[str, str], practice: str) -> type[HttpUser]:

    class CareUser(HttpUser):
        wait_time = between(0.5, 1.5)

        def _h(self, user: str, **extra: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[user]}", **extra}

        def _get(self, user: str, path: str, name: str):
            return self.client.get(path, headers=self._h(user), name=name)

        @task(4)
        def lists(self) -> None:
            user, path = random.choice([("sam.spoa", "/api/referrals"), ("hana.homecare", "/api/tasks"),
                                        ("gita.gp", "/api/people"), ("dina.nurse", "/api/tasks?status=accepted")])
            self._get(user, path, f"GET {path}")

        @task(3)
        def timeline(self) -> None:
            self._get("gita.gp", f"/api/people/{random.choice(('PDEMO0001', 'PDEMO0003'))}/timeline",
                      "GET /api/people/{id}/timeline")

        @task(3)
        def read_plan(self) -> None:
            self._get(random.choice(PLAN_EDITORS), f"/api/people/{PLAN_PEOPLE[0]}/care-plan",
                      "GET /api/people/{id}/care-plan")

        @task(2)
        def edit_plan(self) -> None:
            user, person = random.choice(PLAN_EDITORS), random.choice(PLAN_PEOPLE)
            edit = secrets.token_hex(6)
            path = f"/api/people/{person}/care-plan"
            for _ in range(10):  # a stale edit is refused (412): read again and reapply the change
                current = self.client.get(path, headers=self._h(user), name="GET /api/people/{id}/care-plan")
                if current.status_code != 200:
                    return
                content = current.json()["content"]
                content["actions"] = [*content.get("actions", []), {"action": f"load edit {edit}", "who": user}]
                with self.client.put(path, json=content, catch_response=True, name="PUT /api/people/{id}/care-plan",
                                     headers=self._h(user, **{"If-Match": current.headers["ETag"]})) as response:
                    if response.status_code == 200:
                        ACCEPTED.append((person, edit))
                        return
                    if response.status_code == 412:
                        response.success()  # the refusal is the design working: retried below
                        STALE.append(edit)
                        if STALE_PAUSE[0] > 0:
                            gevent.sleep(random.uniform(STALE_PAUSE[0] / 5, STALE_PAUSE[0]))
                        continue
                    response.failure(f"{response.status_code} {response.text[:200]}")
                    return

        @task(1)
        def referral_to_completed_task(self) -> None:
            form = {**VERA, "registered_practice": practice,
                    "source": "acute_discharger", "from_organisation": "RPA", "to_organisation": "SP03",
                    "needs": "Load test: support at home after discharge", "recommended_services": ["domiciliary_care"]}
            made = self.client.post("/api/referrals", json=form, headers=self._h("ada.discharge"),
                                    name="POST /api/referrals")
            if made.status_code != 201:
                return
            tasks = self.client.post(f"/api/referrals/{made.json()['id']}/triage", headers=self._h("sam.spoa"),
                                     name="POST /api/referrals/{id}/triage",
                                     json={"tasks": [{"service": "domiciliary_care", "organisation": "HC06"},
                                                     {"service": "social_work_assessment",
                                                      "organisation": MEDWAY_ASC}]})
            if tasks.status_code != 201:
                return
            for t in tasks.json():
                who = "hana.homecare" if t["organisation"] == "HC06" else "will.social"
                accepted = self.client.post(f"/api/tasks/{t['id']}/accept", json={}, headers=self._h(who),
                                            name="POST /api/tasks/{id}/accept")
                if accepted.status_code == 200:
                    self.client.post(f"/api/tasks/{t['id']}/complete", headers=self._h(who),
                                     json={"outcome": "package set", "weeks": 6, "end_episode": True},
                                     name="POST /api/tasks/{id}/complete")

    return CareUser


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used: what a request costs, whatever else runs on the machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average(samples: list[float], stop: list[bool]) -> None:
    while not stop:
        samples.append(os.getloadavg()[0])
        gevent.sleep(10)


def lost_updates(base: str, tokens: dict[str, str]) -> tuple[int, int]:
    """(accepted edits, of which missing from the plan's final version)."""
    missing = 0
    for person in PLAN_PEOPLE:
        request = urllib.request.Request(f"{base}/api/people/{person}/care-plan",
                                         headers={"Authorization": f"Bearer {tokens['gita.gp']}"})
        final = json.loads(urllib.request.urlopen(request, timeout=30).read())["content"]
        present = {a["action"].removeprefix("load edit ") for a in final.get("actions", [])}
        missing += sum(1 for p, edit in ACCEPTED if p == person and edit not in present)
    return len(ACCEPTED), missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=300, help="seconds of load (default 300: 5 minutes)")
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=16,
                        help="waitress worker threads (16: a thread waits on the databases most of its request)")
    parser.add_argument("--stale-pause", type=float, default=1.0,
                        help="seconds (at most) before a stale (412) plan edit is re-read and retried; 0: at once")
    args = parser.parse_args()
    server_url = os.environ.get("ICSYS_TEST_POSTGRES_URL")
    if not server_url:
        sys.exit('set ICSYS_TEST_POSTGRES_URL: eval "$(.ci/postgres)"')
    if args.users < 1 or args.duration < 10 or args.stale_pause < 0:
        sys.exit("--users at least 1, --duration at least 10 seconds, --stale-pause 0 or more")
    STALE_PAUSE[0] = args.stale_pause
    urls = databases(server_url)
    env = environment(urls)
    loaded = load(env, urls["care"])
    os.environ.update({k: v for k, v in env.items() if k.startswith("ICSYS_")})
    server, base = serve(env, urls["care"], args.threads)
    try:
        run(args, base, loaded["tokens"], loaded["practice"], server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(args: argparse.Namespace, base: str, tokens: dict[str, str], practice: str, server_pid: int) -> None:
    environment_ = Environment(user_classes=[users_class(tokens, practice)], host=base, events=events)
    runner = environment_.create_local_runner()
    samples: list[float] = []
    stop: list[bool] = []
    sampler = gevent.spawn(load_average, samples, stop)
    before = os.getloadavg()
    cpu_before = cpu_seconds(server_pid)
    started = time.monotonic()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    gevent.sleep(args.duration)
    runner.quit()
    elapsed = time.monotonic() - started
    server_cpu = cpu_seconds(server_pid) - cpu_before
    stop.append(True)
    sampler.join(timeout=11)
    total = environment_.stats.total
    accepted, missing = lost_updates(base, tokens)
    print(f"care service under load: {args.users} users, {elapsed:.0f} s, PostgreSQL, waitress "
          f"({args.threads} threads), loopback, stale edits retried after up to {args.stale_pause:g} s; "
          f"machine: {os.cpu_count()} cores")
    print(f"{'request':45} {'count':>7} {'fail':>5} {'p50':>6} {'p95':>6} {'p99':>6}  (ms)")
    for name in sorted(environment_.stats.entries):
        s = environment_.stats.entries[name]
        print(f"{s.name:45} "
              f"{s.num_requests:7} {s.num_failures:5} {s.get_response_time_percentile(0.5):6.0f} "
              f"{s.get_response_time_percentile(0.95):6.0f} {s.get_response_time_percentile(0.99):6.0f}")
    p50, p95, p99 = (total.get_response_time_percentile(q) for q in (0.5, 0.95, 0.99))
    print(f"all: {total.num_requests} requests, {total.num_requests / elapsed:.1f} per second; "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; errors {total.num_failures}")
    for error in environment_.stats.errors.values():
        print(f"error x{error.occurrences}: {error.method} {error.name}: {str(error.error)[:200]}")
    print(f"server CPU: {server_cpu:.1f} s, {1000 * server_cpu / max(total.num_requests, 1):.1f} ms a request "
          f"({100 * server_cpu / elapsed:.0f} % of one core)")
    print(f"plan edits accepted {accepted}, refused as stale (412) and retried {len(STALE)}, lost {missing}")
    print(f"load average (1 min): before {before[0]:.2f}, during mean {sum(samples) / max(len(samples), 1):.2f} "
          f"max {max(samples, default=0):.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"target p95 <= 300 ms: {'met' if p95 <= 300 else 'NOT met'}; errors 0: "
          f"{'met' if total.num_failures == 0 else 'NOT met'}; lost updates 0: {'met' if missing == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
