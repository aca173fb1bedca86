"""The pages in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium: Playwright cannot
download its own browsers here) against `icsys serve`. Vera's journey of seed 003 through the pages, each
step by the role that does it; another organisation's ids -> 403/404 with nothing of hers; an axe check of
each main page; screenshots of them in /tmp/care-shots/ (or ICSYS_SHOTS)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_served import ICSYS, clean_env, free_port  # the served app's helpers

from icsys.care import demo

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("no /usr/bin/chromium (apt-get install chromium; .ci/run does)", allow_module_level=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("ICSYS_SHOTS", "/tmp/care-shots"))
VERA = "PDEMO0001"
PROTECTED = ["Vera", "Hughes", "999 000 0018", "9990000018", "stroke", "Eric", "domiciliary"]
IDS: dict[str, Any] = {}  # the journey's ids, for the matrix


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("browser")
    db, store = folder / "care.sqlite", folder / "store.duckdb"
    env = {**clean_env(), "ICSYS_STORE": str(store)}
    made = subprocess.run([*ICSYS, "care", "demo", "--db", str(db), "--no-referrals"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    port = free_port()
    server = subprocess.Popen([*ICSYS, "serve", "--db", str(db), "--port", str(port), "--threads", "4"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/accounts/login/", timeout=10)
            break
        except OSError:  # URLError, refused, timed out: not up yet
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("the server did not start")
    yield {"base": base, "store": store, **organisations(db)}
    server.terminate()
    server.wait(timeout=20)


def organisations(db: Path) -> dict[str, str]:
    """Vera's practice and PCN (demo.demo_practice's rule) and a practice of another PCN, read from the served
    database directly: the browser's event loop runs in this thread, where Django refuses its ORM."""
    with sqlite3.connect(db) as con:
        practice, pcn = con.execute(
            "SELECT p.code, p.parent_id FROM care_organisation p JOIN care_organisation n ON p.parent_id = n.code "
            "WHERE p.kind = 'practice' AND n.parent_id = 'MS' ORDER BY p.code LIMIT 1").fetchone()
        (elsewhere,) = con.execute("SELECT code FROM care_organisation WHERE kind = 'practice' AND parent_id <> ? "
                                   "ORDER BY code LIMIT 1", (pcn,)).fetchone()
    return {"practice": practice, "pcn": pcn, "elsewhere": elsewhere}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


class User:
    """One person at their own browser (their own cookies), signed in through the sign-in page."""

    def __init__(self, browser: Any, base: str, username: str) -> None:
        self.base, self.username = base, username
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.go("/accounts/login/")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(demo.PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(f"{base}/")

    def go(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def row(self, text: str) -> Any:
        return self.page.locator("tbody tr", has_text=text)

    def heading(self) -> str:
        return self.page.locator("h1").inner_text()


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in result.response["violations"]]


def test_veras_journey_through_the_pages(served, browser, make_store):
    base, practice, pcn = served["base"], served["practice"], served["pcn"]
    checked: dict[str, list[str]] = {}

    def check(user: User, name: str) -> None:
        user.shot(name)
        checked[name] = axe_violations(user.page)

    # 1-2. Medically fit for discharge: the acute discharger fills in the discharge support form.
    ada = User(browser, base, "ada.discharge")
    ada.go("/referrals/new/")
    ada.page.get_by_label("NHS number").fill("999 000 0019")  # a typing slip: the check digit is wrong
    ada.page.get_by_label("Given name").fill("Vera")
    ada.page.get_by_label("Family name").fill("Hughes")
    ada.page.get_by_label("Date of birth").fill("1946-05-14")
    ada.page.get_by_label("Registered GP practice").select_option(practice)
    ada.page.get_by_role("button", name="Send the referral").click()
    summary = ada.page.locator(".error-summary")
    assert "check digit" in summary.inner_text() and "Needs" in summary.inner_text()
    assert ada.page.get_by_label("Given name").input_value() == "Vera"  # what was typed stays
    check(ada, "01-referral-form-errors")
    ada.page.get_by_label("NHS number").fill("999 000 0018")
    needs = ada.page.get_by_role("textbox", name=re.compile(r"^Needs"))
    needs.fill("Recovering from a stroke; type 2 diabetes, COPD and dementia; her condition needs monitoring")
    ada.page.get_by_label("Mobility").fill("Limited: walks short distances with a frame")
    ada.page.get_by_label("Carer situation").fill("Lives with her husband, who is frail and often unwell")
    for service in ("Domiciliary care", "District nursing", "Carer support", "Social work assessment"):
        ada.page.get_by_label(service, exact=True).check()
    ada.page.get_by_label("Carer's name").fill("Eric Hughes")
    ada.page.get_by_label("Relationship").fill("husband")
    ada.page.get_by_label("The carer needs support").check()
    ada.page.get_by_role("button", name="Send the referral").click()
    ada.page.wait_for_url(re.compile(r"/referrals/\d+/$"))
    referral = int(ada.page.url.rstrip("/").rsplit("/", 1)[1])
    assert ada.heading() == f"Referral {referral}: Vera Hughes"
    IDS["referral"] = referral

    # 3. The SPoA's call handler triages it into tasks for the services the form recommends.
    sam = User(browser, base, "sam.spoa")
    sam.go("/referrals/")
    assert sam.row("Vera Hughes").count() == 1 and "Received" in sam.row("Vera Hughes").inner_text()
    check(sam, "02-triage-queue")
    sam.row("Vera Hughes").get_by_role("link").click()
    for service, org in (("social_work_assessment", demo.MEDWAY_ASC), ("domiciliary_care", "HC06"),
                         ("district_nursing", "NQV"), ("carer_support", demo.MEDWAY_ASC)):
        assert sam.page.locator(f"#t-{service}").is_checked()  # recommended on the form
        sam.page.locator(f"#org-{service}").select_option(org)
    check(sam, "03-referral-triage")
    sam.page.get_by_role("button", name="Send the tasks").click()
    assert sam.page.locator("tbody tr").count() == 4 and "Triaged" in sam.page.inner_text("main")
    sam.go("/referrals/unmatched/")
    assert sam.heading() == "Unmatched referrals"

    # 4. Vera goes home: the hospital records the discharge; her practice hears within 24 hours.
    ada.go(f"/referrals/{referral}/")
    ada.page.get_by_role("button", name="Record the discharge").click()
    gita = User(browser, base, "gita.gp")
    assert "Within 24 hours" in gita.row("Vera Hughes").inner_text()
    check(gita, "04-gp-discharge-notification")

    # The services accept their tasks.
    will, hana, dina = (User(browser, base, u) for u in ("will.social", "hana.homecare", "dina.nurse"))
    for user, service in ((will, "social work assessment"), (will, "carer support"), (hana, "domiciliary care"),
                          (dina, "district nursing")):
        user.go("/tasks/")
        assert "Due" in user.page.inner_text("thead")
        user.row(service).get_by_role("button", name=re.compile("^Accept")).click()
        assert "Accepted" in user.row(service).inner_text()

    # 5. The assessment within 24 hours: six weeks of care; consent; the plan.
    will.go("/tasks/")
    row = will.row("social work assessment")
    row.get_by_label("Outcome").fill("Assessed")
    row.get_by_label("Weeks of care").fill("none")
    row.get_by_role("button", name=re.compile("^Complete")).click()
    assert "Weeks" in will.page.locator(".error-summary").inner_text()  # named, nothing saved
    assert "Accepted" in will.row("social work assessment").inner_text()
    row = will.row("social work assessment")
    row.get_by_label("Outcome").fill("6 weeks: domiciliary care, district nursing review, carer support for Eric")
    row.get_by_label("Weeks of care").fill("6")
    row.get_by_role("button", name=re.compile("^Complete")).click()
    assert "Completed" in will.row("social work assessment").inner_text()
    check(will, "05-task-list")
    will.go(f"/people/{VERA}/")
    will.page.get_by_label("Given", exact=True).check()
    will.page.get_by_label("Note").fill("Vera agrees to share her plan with the services caring for her")
    will.page.get_by_role("button", name="Record consent").click()
    will.go(f"/people/{VERA}/care-plan/")
    will.page.get_by_label("Summary").fill("Six weeks of support at home after a stroke")
    will.page.get_by_label("Goals").fill("Manage personal care independently")
    will.page.get_by_label("Actions").fill("Daily domiciliary care visit | Medway Home Care\n"
                                           "Weekly district nurse review | Medway Community Healthcare")
    will.page.get_by_label("Named contacts").fill("Will Barnes | social worker | 01634 000000")
    will.page.get_by_label("Preferred place of care").fill("home")
    will.page.get_by_role("button", name="Save the care plan").click()
    assert "Saved as version 1" in will.page.inner_text("main")

    # ... with ongoing review through the MDT: the SPoA adds it to the care team; the MDT lead's case list.
    sam.go(f"/people/{VERA}/")
    sam.page.get_by_label("Organisation").select_option(pcn)
    sam.page.get_by_label("Role in the care team").fill("frailty MDT")
    sam.page.get_by_role("button", name="Add").click()
    make_store(served["store"], practice, served["elsewhere"])
    mo = User(browser, base, "mo.mdt")
    mo.go("/mdt/?list=dementia_low_dose_antipsychotic")
    assert [c.inner_text() for c in mo.page.locator("tbody tr td:first-child a").all()] == ["Vera Hughes"]
    mo.go("/mdt/?list=frail")
    check(mo, "06-mdt-case-list")
    mo.page.get_by_label("Title").fill("Frailty MDT, Medway")
    mo.page.get_by_label("Attendees").fill(f"Dr Mo Reid | {pcn} | lead\nDina Clarke | NQV | district nurse")
    mo.page.get_by_role("button", name="Start the meeting record").click()
    mo.page.wait_for_url(re.compile(r"/mdt/meetings/\d+/$"))
    IDS["meeting"] = int(mo.page.url.rstrip("/").rsplit("/", 1)[1])
    mo.page.get_by_label("Person").select_option(VERA)
    mo.page.get_by_label("Decision").fill("Review low-dose risperidone with the GP; nurse review at home")
    mo.page.get_by_label("Action").fill("District nurse review of Vera's medicines")
    mo.page.get_by_label("Service", exact=True).select_option("district_nursing")
    mo.page.get_by_label("Organisation", exact=True).select_option("NQV")
    mo.page.get_by_role("button", name="Record the decision").click()
    assert "District nursing offered to NQV" in mo.page.inner_text("main")
    check(mo, "07-mdt-meeting")

    # Two editors at once: the MDT lead saves first; the social worker's stale save is refused, not lost.
    will.go(f"/people/{VERA}/care-plan/")
    mo.go(f"/people/{VERA}/care-plan/")
    mo.page.get_by_label("Actions").fill(mo.page.get_by_label("Actions").input_value()
                                         + "\nMDT review at 6 weeks | frailty MDT")
    mo.page.get_by_role("button", name="Save the care plan").click()
    assert "Saved as version 2" in mo.page.inner_text("main")
    will.page.get_by_label("Goals").fill("Manage personal care independently\nEric to have a carer's break")
    will.page.get_by_role("button", name="Save the care plan").click()
    assert "Someone else saved this plan" in will.page.inner_text("main")
    assert "MDT review at 6 weeks" in will.page.locator(".notice.stale").inner_text()  # theirs, shown
    assert "carer's break" in will.page.get_by_label("Goals").input_value()  # mine, kept
    check(will, "08-care-plan-stale-edit")
    will.page.get_by_label("Actions").fill(will.page.locator(".notice.stale dd").nth(2).inner_text())
    will.page.get_by_role("button", name="Save the care plan").click()
    assert "Saved as version 3" in will.page.inner_text("main")
    check(will, "09-care-plan-editor")

    # 6. Vera recovers; her package ends, and the referral closes.
    for user, service in ((hana, "domiciliary care"), (dina, "district nursing"), (will, "carer support")):
        user.go("/tasks/")
        row = user.row(service).filter(has_text="Accepted")
        row.get_by_label("Outcome").fill("Vera recovered: package ended")
        row.get_by_label("Weeks of care").fill("6")
        row.get_by_label("The package has ended").check()
        row.get_by_role("button", name=re.compile("^Complete")).click()
    sam.go(f"/referrals/{referral}/")
    assert "Closed" in sam.page.inner_text("main")
    gita.go(f"/people/{VERA}/")
    journey = gita.page.locator("ol.timeline").inner_text()
    for kind in ("Referral", "Task", "Care plan", "MDT decision", "Consent", "Discharge notification"):
        assert kind in journey, kind
    check(gita, "10-timeline")

    # Every step is in the audit log, by the one who did it.
    priya = User(browser, base, "priya.privacy")
    priya.go(f"/audit/?person={VERA}")
    users = set(priya.page.locator("tbody tr td:nth-child(2)").all_inner_texts())
    assert {"ada.discharge", "sam.spoa", "will.social", "hana.homecare", "dina.nurse", "mo.mdt", "gita.gp"} <= users
    check(priya, "11-audit")
    for user in (ada, sam, gita, will, hana, dina, mo, priya):
        user.context.close()
    assert {name: found for name, found in checked.items() if found} == {}


OUTSIDERS = ["kim.kent", "ken.kentsc", "nia.111", "adam.admin", "priya.privacy"]
PAGES = ["/people/{person}/", "/people/{person}/care-plan/", "/referrals/{referral}/", "/mdt/meetings/{meeting}/"]


@pytest.mark.parametrize("username", OUTSIDERS)
def test_other_organisations_ids_give_403_or_404_in_the_browser(served, browser, username):
    if not IDS:
        pytest.skip("needs the journey's ids (run with the journey)")
    user = User(browser, served["base"], username)
    for template in PAGES:
        response = user.go(template.format(person=VERA, **IDS))
        assert response.status in (403, 404), (username, template, response.status)
        text = user.page.inner_text("body")
        assert not [p for p in PROTECTED if p in text], (username, template)
    for listing in ("/people/", "/referrals/", "/tasks/"):
        text = user.page.inner_text("body") if user.go(listing).status != 200 else user.page.inner_text("main")
        assert not [p for p in PROTECTED if p in text], (username, listing)
    if username == "kim.kent":
        user.shot("12-refused")
    user.context.close()
