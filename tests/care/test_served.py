"""The served app (`icsys care demo` then `icsys serve`, waitress on loopback): Vera's journey of seed 003
end to end through the API, each step by the role that does it; two clients editing one care plan at once
lose nothing; the scheduled job from the command line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from icsys.care import demo

ICSYS = [sys.executable, "-m", "icsys"]
PASSWORD = demo.PASSWORD
VERA = "PDEMO0001"
ERIC = "PDEMO0002"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ICSYS_CARE", "ICSYS_AUDIT",
                                                                    "ICSYS_REID", "ICSYS_DEMO", "ICSYS_ALLOW"))}
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("served")
    db = folder / "care.sqlite"
    env = clean_env()
    made = subprocess.run([*ICSYS, "care", "demo", "--db", str(db), "--no-referrals"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    port = free_port()
    server = subprocess.Popen([*ICSYS, "serve", "--db", str(db), "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/openapi.json", timeout=10)
            break
        except OSError:  # refused while starting, or a first answer slow on a busy machine
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"the server did not start: {server.stdout.read() if server.stdout else ''}")
    yield {"base": base, "db": db, "env": env}
    server.terminate()
    server.wait(timeout=20)


class Client:
    """One user's HTTP client with a bearer token from POST /api/auth/token."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.token = None
        status, _, body = self.call("POST", "/api/auth/token", {"username": username, "password": PASSWORD})
        assert status == 200, body
        self.token = body["token"]

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None):
        data = json.dumps(body, default=str).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, json.loads(exc.read() or b"null")

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **headers: str) -> Any:
        got, _, out = self.call(method, path, body, headers)
        assert got == status, (method, path, got, out)
        return out


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_veras_journey_end_to_end_through_the_served_api(served):
    base = served["base"]
    ada, sam, will, hana, dina, gita, mo, priya = (Client(base, u) for u in (
        "ada.discharge", "sam.spoa", "will.social", "hana.homecare", "dina.nurse", "gita.gp", "mo.mdt",
        "priya.privacy"))
    practice = gita.ok("GET", "/api/me")["organisations"][0]
    # 1-2. Medically fit for discharge: the acute discharger sends the SPoA her discharge support form.
    referral = ada.ok("POST", "/api/referrals", demo.vera_referral_form(practice), status=201)
    assert (referral["person_id"], referral["status"]) == (VERA, "received")
    # 3. The SPoA's call handler coordinates the services the form recommends.
    assert [r["id"] for r in sam.ok("GET", "/api/referrals")] == [referral["id"]]
    carer = sam.ok("GET", f"/api/people/{VERA}")["carers"][0]
    assert (carer["name"], carer["able_to_care"], carer["needs_support"]) == ("Eric Hughes", False, True)
    tasks = sam.ok("POST", f"/api/referrals/{referral['id']}/triage", {"tasks": [
        {"service": "social_work_assessment", "organisation": demo.MEDWAY_ASC},
        {"service": "domiciliary_care", "organisation": "HC06"},
        {"service": "district_nursing", "organisation": "NQV"},
        {"service": "carer_support", "organisation": demo.MEDWAY_ASC, "carer": carer["id"]}]}, status=201)
    task = {t["service"]: t for t in tasks}
    # 4. Vera goes home; her practice is told within 24 hours.
    ada.ok("POST", f"/api/referrals/{referral['id']}/discharge", {"discharged_at": datetime.now(UTC)}, status=201)
    notice = gita.ok("GET", "/api/notifications")[0]
    assert at(notice["sent_at"]) <= at(notice["due_by"]) and notice["late"] is False
    # The services accept their tasks.
    for client, service in ((will, "social_work_assessment"), (hana, "domiciliary_care"),
                            (dina, "district_nursing"), (will, "carer_support")):
        accepted = client.ok("POST", f"/api/tasks/{task[service]['id']}/accept", {})
        assert accepted["status"] == "accepted"
    # 5. The assessment within 24 hours: six weeks of home care and district nursing, and carer support.
    assessed = will.ok("POST", f"/api/tasks/{task['social_work_assessment']['id']}/complete",
                       {"outcome": "6 weeks: domiciliary care (personal care, household tasks), district nursing "
                                   "review, carer support for Eric", "weeks": 6})
    assert at(assessed["completed_at"]) < at(assessed["due_at"])
    will.ok("POST", f"/api/people/{VERA}/consent", {"status": "given", "note": "Vera agrees to share her plan"},
            status=201)
    will.ok("POST", f"/api/people/{VERA}/care-plan", {
        "summary": "Six weeks of support at home after a stroke",
        "goals": [{"goal": "Manage personal care independently"}],
        "actions": [{"action": "Daily domiciliary care visit", "who": "Medway Home Care"},
                    {"action": "Weekly district nurse review", "who": "Medway Community Healthcare"}],
        "named_contacts": [{"name": "Will Barnes", "role": "social worker", "organisation": demo.MEDWAY_ASC}],
        "anticipatory_care": "If unwell, call the SPoA", "end_of_life": {}}, status=201)
    # ... with ongoing review through the MDT.
    pcn = mo.ok("GET", "/api/me")["organisations"][0]
    sam.ok("POST", f"/api/people/{VERA}/care-team", {"organisation": pcn, "role_in_team": "frailty MDT"}, status=201)
    status, headers, plan = mo.call("GET", f"/api/people/{VERA}/care-plan")
    assert status == 200 and plan["author"] == "will.social"
    plan["content"]["actions"].append({"action": "MDT review at 6 weeks", "who": "frailty MDT"})
    reviewed = mo.ok("PUT", f"/api/people/{VERA}/care-plan", plan["content"], **{"If-Match": headers.get("ETag")})
    assert (reviewed["version"], reviewed["author"]) == (2, "mo.mdt")
    # 6. Vera recovers; her package ends.
    for client, service in ((hana, "domiciliary_care"), (dina, "district_nursing"), (will, "carer_support")):
        client.ok("POST", f"/api/tasks/{task[service]['id']}/complete",
                  {"outcome": "Vera recovered: package ended", "weeks": 6, "end_episode": True})
    assert sam.ok("GET", f"/api/referrals/{referral['id']}")["status"] == "closed"
    episodes = sam.ok("GET", f"/api/people/{VERA}")["episodes"]
    assert episodes and all(e["ended_at"] for e in episodes)
    kinds = [e["kind"] for e in gita.ok("GET", f"/api/people/{VERA}/timeline")]
    assert kinds[-1] == "referral" and kinds.count("task") == 4 and kinds.count("care_plan") == 2  # newest first
    # The scheduled job finds nothing late in Vera's journey.
    ticked = subprocess.run([*ICSYS, "care", "tick", "--db", str(served["db"])], env=served["env"],
                            capture_output=True, text=True, timeout=120)
    assert ticked.returncode == 0 and json.loads(ticked.stdout) == {"warning": 0, "breach": 0,
                                                                    "late_notifications": 0}
    # Every step is in the audit log, by the one who did it.
    users = {r["actor_user"] for r in priya.ok("GET", f"/api/audit?person={VERA}")}
    assert {"ada.discharge", "sam.spoa", "will.social", "hana.homecare", "dina.nurse", "mo.mdt", "gita.gp"} <= users


def test_two_clients_editing_one_plan_at_once_lose_nothing(served):
    base = served["base"]
    gita, sam = Client(base, "gita.gp"), Client(base, "sam.spoa")
    practice = gita.ok("GET", "/api/me")["organisations"][0]
    eric = {**demo.ERIC, "registered_practice": practice, "source": "gp", "from_organisation": practice,
            "to_organisation": "SP03", "needs": "Frail; carer strain"}
    gita.ok("POST", "/api/referrals", eric, status=201)
    gita.ok("POST", f"/api/people/{ERIC}/consent", {"status": "given"}, status=201)
    gita.ok("POST", f"/api/people/{ERIC}/care-plan", {"goals": []}, status=201)
    refused = {"gita": 0, "sam": 0}
    accepted: list[str] = []
    lock = threading.Lock()

    def edit(client: Client, name: str, n: int) -> None:
        for i in range(n):
            goal = f"{name} goal {i}"
            while True:
                status, headers, plan = client.call("GET", f"/api/people/{ERIC}/care-plan")
                assert status == 200
                plan["content"]["goals"].append({"goal": goal})
                got, _, body = client.call("PUT", f"/api/people/{ERIC}/care-plan", plan["content"],
                                           {"If-Match": headers.get("ETag")})
                if got == 200:
                    with lock:
                        accepted.append(goal)
                    break
                assert got == 412 and body["version"] > plan["version"], (got, body)
                with lock:
                    refused[name] += 1

    threads = [threading.Thread(target=edit, args=(c, n, 8)) for c, n in ((gita, "gita"), (sam, "sam"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    final = gita.ok("GET", f"/api/people/{ERIC}/care-plan")
    assert sorted(g["goal"] for g in final["content"]["goals"]) == sorted(accepted)
    assert len(accepted) == 16 and final["version"] == 17
    versions = gita.ok("GET", f"/api/people/{ERIC}/care-plan/versions")
    assert [v["version"] for v in versions] == list(range(1, 18))
    assert {v["author"] for v in versions[1:]} == {"gita.gp", "sam.spoa"}
    print(f"stale edits refused with 412: {refused}")
