"""Figure: the care service under load (issue 12): 50 concurrent users (locust) for 5 minutes on loopback,
mixed reads and writes, on PostgreSQL, served by waitress (`icsys serve`). Target: p95 <= 300 ms, no
errors, no lost updates.

Creates its own databases (care, audit, re-identification) on the PostgreSQL server of
ICSYS_TEST_POSTGRES_URL (start it with `eval "$(.ci/postgres)"`), loads the demonstration and a caseload of
`--caseload` people (36) of the demonstration practice, each with consent, a care team (the GP and one or
two services) and a plan of six actions (`icsys.care.demo.load_caseload`), serves it, and runs the users in
this process. Each user holds a token of each demonstration role and does, by weight: lists (referrals,
tasks, people: the API's default page of 50, each list's total counted in SQL), a person's timeline (its
newest 50 events), care plan reads, care plan edits with If-Match, a referral created and triaged, and the
new tasks accepted and completed by the service.

The plans edited. A quarter of the edits (and reads) are of Dorothy's plan (PDEMO0003), by her three
editors (gita.gp, dina.nurse, will.social): the contended plan. The rest are of the caseload's plans, each by
a user of its care team. An edit reads the plan, updates one action's progress note, as a member of the team
does after a visit, and saves it with If-Match up to `--edit-time` seconds (1) after the read, the time a
person takes to write the note; on Dorothy's plan another editor has often saved meanwhile, and the edit is
refused (412), re-read after a pause (`--stale-pause`, as a person reads the newer version before reapplying
their change) and retried. The note counts the action's edits and names the latest (`Falls assessment:
progress note 7, edit 3fa9c2 by dina.nurse`), so a plan keeps its six actions (Dorothy's its one) however long
the run. At the end every plan's final version must hold every accepted edit: each action's count equal to
the edits the server accepted for it, and its note naming the last of them (by version). An edit written over
by one that had not seen it leaves a count short, or a note not the last, and is counted as lost: with the
compare-and-set replaced by "the last writer wins" (tried once, not kept), a 30-second run lost 12 of 132.

Why (1 December 2026, evening): until then every edit was of Dorothy's plan and added an action, so 50 users edited
one plan that grew to ~1,500 actions in 5 minutes and each read and save carried all of them (their p95
890 ms set the run's 640 ms); real plans have tens of actions and are edited by the few people of a care
team, not by 50 at once. Those runs are not comparable with these.

Prints p50/p95/p99 latency, requests per second, errors, the server's CPU time per request (the cost of a
request, whatever else the machine runs) and the machine's load average before, during and after the run
(a shared machine's p95 is mostly its other work).

    eval "$(.ci/postgres)"
    .venv/bin/python benchmarks/care_load.py [--users 50] [--duration 300] [--threads 16] [--stale-pause 1.0]
                                             [--edit-time 1.0] [--caseload 36]

`--stale-pause 0` retries a stale edit at once; `--edit-time 0` saves it at once after the read.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
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
DOROTHY = "PDEMO0003"  # her shared plan is edited by her GP, the district nurses and social care: contended
PLAN_TEAMS: dict[str, tuple[str, ...]] = {DOROTHY: ("gita.gp", "dina.nurse", "will.social")}  # + the caseload
DOROTHY_SHARE = 0.25  # of the plan reads and edits
ACCEPTED: list[tuple[str, int, str, int]] = []  # (person, action index, edit id, version) of each accepted edit
SENT: set[str] = set()  # edits sent and not answered (the run stopped its users meanwhile): saved or not
STALE: list[str] = []  # whose plan, for each edit refused 412 (another editor got there first) and retried
STALE_PAUSE = [1.0]  # at most this many seconds (uniform from a fifth of it) before a stale edit is retried
EDIT_TIME = [1.0]  # at most this many seconds (likewise) between reading a plan and saving the edit


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
from icsys.care.demo import demo_practice, load_caseload, load_demo
from icsys.care.models import User
from icsys.web.auth import issue_token
load_demo()
teams = load_caseload(int(sys.argv[2]))
print(json.dumps({"practice": demo_practice().code, "teams": teams,
                  "tokens": {u.username: issue_token(u)[0] for u in User.objects.all()}}))
"""


def load(env: dict[str, str], care_url: str, caseload: int) -> dict[str, object]:
    """The demonstration and the caseload loaded; each plan's care team; a bearer token per user (issued
    directly: sign-in is not what is measured)."""
    done = subprocess.run([sys.executable, "-c", LOAD_DEMO, care_url, str(caseload)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
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


CASELOAD: list[str] = []  # the caseload's people (after loading)
PROGRESS = re.compile(r"^(?P<name>.*?)(?:: progress note (?P<n>\d+), edit (?P<edit>[0-9a-f]+) by \S+)?$")


def plan_person() -> str:
    """Whose plan a user reads or edits: Dorothy's for a quarter, else one of the caseload."""
    return DOROTHY if random.random() < DOROTHY_SHARE else random.choice(CASELOAD)


def progressed(action: dict, edit: str, user: str) -> dict:
    """The action with its progress note moved on by one edit, named in it."""
    found = PROGRESS.match(action["action"])
    notes = int(found["n"] or 0) + 1
    return {**action, "action": f"{found['name']}: progress note {notes}, edit {edit} by {user}"}


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
            person = random.choice(("PDEMO0001", DOROTHY, random.choice(CASELOAD)))
            self._get("gita.gp", f"/api/people/{person}/timeline", "GET /api/people/{id}/timeline")

        @task(3)
        def read_plan(self) -> None:
            person = plan_person()
            self._get(random.choice(PLAN_TEAMS[person]), f"/api/people/{person}/care-plan",
                      "GET /api/people/{id}/care-plan")

        @task(2)
        def edit_plan(self) -> None:
            person = plan_person()
            user, edit = random.choice(PLAN_TEAMS[person]), secrets.token_hex(6)
            path = f"/api/people/{person}/care-plan"
            for _ in range(10):  # a stale edit is refused (412): read again and reapply the change
                current = self.client.get(path, headers=self._h(user), name="GET /api/people/{id}/care-plan")
                if current.status_code != 200:
                    return
                content = current.json()["content"]
                index = random.randrange(len(content["actions"]))
                content["actions"][index] = progressed(content["actions"][index], edit, user)
                if EDIT_TIME[0] > 0:  # the person writes the note: another may save meanwhile
                    gevent.sleep(random.uniform(EDIT_TIME[0] / 5, EDIT_TIME[0]))
                SENT.add(edit)
                with self.client.put(path, json=content, catch_response=True, name="PUT /api/people/{id}/care-plan",
                                     headers=self._h(user, **{"If-Match": current.headers["ETag"]})) as response:
                    SENT.discard(edit)
                    if response.status_code == 200:
                        ACCEPTED.append((person, index, edit, response.json()["version"]))
                        return
                    if response.status_code == 412:
                        response.success()  # the refusal is the design working: retried below
                        STALE.append(person)
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
    """(accepted edits, of which missing from their plan's final version). Each action's final note must
    count every edit accepted for it and name the last (the highest version); an edit written over by a
    writer who had not seen it leaves the count short (or, if its action was the one rewritten, the note not
    the last): each edit the count is short by, or a wrong last edit, is lost."""
    missing = 0
    for person in sorted({p for p, *_ in ACCEPTED}):
        request = urllib.request.Request(f"{base}/api/people/{person}/care-plan",
                                         headers={"Authorization": f"Bearer {tokens['gita.gp']}"})
        final = json.loads(urllib.request.urlopen(request, timeout=30).read())
        mine = [a for a in ACCEPTED if a[0] == person]
        for index, action in enumerate(final["content"]["actions"]):
            edits = sorted((version, edit) for p, i, edit, version in mine if i == index)
            if not edits:
                continue
            found = PROGRESS.match(action["action"])
            unanswered = found["edit"] in SENT  # saved as the run stopped its users, the answer never read
            short = len(edits) + unanswered - int(found["n"] or 0)
            missing += short if short > 0 else int(not unanswered and found["edit"] != edits[-1][1])
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
    parser.add_argument("--edit-time", type=float, default=1.0,
                        help="seconds (at most) between reading a plan and saving the edit; 0: at once")
    parser.add_argument("--caseload", type=int, default=36,
                        help="people of the practice with a shared plan, each edited by its care team (36)")
    args = parser.parse_args()
    server_url = os.environ.get("ICSYS_TEST_POSTGRES_URL")
    if not server_url:
        sys.exit('set ICSYS_TEST_POSTGRES_URL: eval "$(.ci/postgres)"')
    if args.users < 1 or args.duration < 10 or min(args.stale_pause, args.edit_time) < 0 or \
            not 1 <= args.caseload <= 900:
        sys.exit("--users at least 1, --duration at least 10 seconds, --stale-pause and --edit-time 0 or more, "
                 "--caseload 1 to 900")
    STALE_PAUSE[0], EDIT_TIME[0] = args.stale_pause, args.edit_time
    urls = databases(server_url)
    env = environment(urls)
    loaded = load(env, urls["care"], args.caseload)
    PLAN_TEAMS.update({person: tuple(team) for person, team in loaded["teams"].items()})
    CASELOAD.extend(loaded["teams"])
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
          f"({args.threads} threads), loopback, {args.caseload} plans and Dorothy's, an edit saved up to "
          f"{args.edit_time:g} s after its read, a stale one retried after up to {args.stale_pause:g} s; "
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
    dorothy = sum(1 for a in ACCEPTED if a[0] == DOROTHY)
    print(f"  Dorothy's plan (contended): accepted {dorothy}, stale {STALE.count(DOROTHY)}; the caseload's "
          f"{len(CASELOAD)} plans: accepted {accepted - dorothy}, stale {len(STALE) - STALE.count(DOROTHY)}")
    print(f"load average (1 min): before {before[0]:.2f}, during mean {sum(samples) / max(len(samples), 1):.2f} "
          f"max {max(samples, default=0):.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"target p95 <= 300 ms: {'met' if p95 <= 300 else 'NOT met'}; errors 0: "
          f"{'met' if total.num_failures == 0 else 'NOT met'}; lost updates 0: {'met' if missing == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
