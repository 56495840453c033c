"""A moderator's day in a real browser: Playwright drives Debian's headless Chromium against a live server.

The moderator signs in to the admin, opens the reports queue, hides a reported gig with a reason and
suspends its owner. The test then checks through the public API, over HTTP, that the gig is gone from
the public list and that the owner's API token no longer works. Each step's screenshot is saved in
``.data/screenshots/`` (``BROWSER_SCREENSHOTS_DIR=docs/img`` refreshes the ones ``docs/admin.md`` shows).

Chromium comes from the system package manager: the session fixture installs Debian's ``chromium``
with apt-get when ``/usr/bin/chromium`` is missing. Playwright never downloads a browser.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db import connections

from accounts.models import User
from marketplace import services
from marketplace.models import FreelancerSkill, Gig, ModerationAction, Report, Skill
from marketplace.taxonomy import load_seed_taxonomy
from tests.factories import ClientFactory, GigFactory, UserFactory

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots go to .data/screenshots so a test run leaves the work tree clean; point
# BROWSER_SCREENSHOTS_DIR at docs/img to refresh the pictures in docs/admin.md.
_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = _ROOT / os.environ.get("BROWSER_SCREENSHOTS_DIR", ".data/screenshots")
PASSWORD = "a-long-and-unusual-passphrase-42"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Debian's Chromium, installed through apt-get when missing (CI starts from a clean machine)."""
    if not CHROMIUM.exists():
        apt = shutil.which("apt-get")
        if apt is None or os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} is missing; install the system package: sudo apt-get install -y chromium")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([apt, "update", "-qq"], check=True, env=env)
        subprocess.run([apt, "install", "-y", "-qq", "--no-install-recommends", "chromium"], check=True, env=env)
    assert CHROMIUM.exists(), f"apt-get did not install {CHROMIUM}"
    return str(CHROMIUM)


@pytest.fixture
def browser_page(chromium_executable, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # plain synchronous code between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield pw, page
        finally:
            context.close()
            browser.close()


@pytest.fixture
def announced():
    """What the live server announces to matching, recorded instead of enqueued.

    The Celery worker that the matching tests start lives for the whole session; tasks enqueued here
    would have it write to the database while this transactional test flushes it (a deadlock).
    """
    from marketplace import signals
    from matching import signals as matching_signals

    seen: list[tuple[str, int]] = []

    def record(sender, **kwargs):
        seen.append(("gig", kwargs["gig_id"]) if "gig_id" in kwargs else ("profile", kwargs["profile_id"]))

    signals.profile_changed.disconnect(dispatch_uid="matching.profile_changed")
    signals.gig_changed.disconnect(dispatch_uid="matching.gig_changed")
    signals.profile_changed.connect(record, dispatch_uid="browser-test.profile")
    signals.gig_changed.connect(record, dispatch_uid="browser-test.gig")
    try:
        yield seen
    finally:
        signals.profile_changed.disconnect(dispatch_uid="browser-test.profile")
        signals.gig_changed.disconnect(dispatch_uid="browser-test.gig")
        signals.profile_changed.connect(matching_signals.on_profile_changed, dispatch_uid="matching.profile_changed")
        signals.gig_changed.connect(matching_signals.on_gig_changed, dispatch_uid="matching.gig_changed")


def _shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"admin-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000, f"{path} looks empty"
    return path


def _public_gig_ids(api) -> list[int]:
    response = api.get("/api/v1/gigs/?page_size=100")
    assert response.status == 200, response.text()
    return [g["id"] for g in response.json()["results"]]


@pytest.mark.django_db(transaction=True)
def test_moderator_hides_a_reported_gig_and_suspends_its_owner(live_server, browser_page, settings, announced):
    # Plain http on 127.0.0.1: the session and CSRF cookies must not require TLS here.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    pw, page = browser_page
    try:
        _moderators_day(live_server.url, pw, page, announced)
    finally:
        # Under Playwright's greenlets the test's ORM calls got their own connection; close it, or the
        # test database cannot be dropped at the end of the session.
        connections.close_all()


def _moderators_day(base_url: str, pw, page, announced: list) -> None:
    """The day itself; the caller closes the database connections it opened."""
    moderator = User.objects.create_superuser("moderator@matchwork.example", PASSWORD, full_name="Mo Derator")
    owner = UserFactory(role="client", email="owner@shady.example", full_name="Shady Owner")
    owner.set_password(PASSWORD)
    owner.save()
    gig = GigFactory(
        client=ClientFactory(name="Shady Ventures", owner=owner),
        title="Easy money: label 50 photos",
        description="Quick job for anyone, details after you pay a small registration fee.",
    )
    honest = GigFactory(title="Annotate clinical notes", client=ClientFactory(name="Northwind Health"))
    for reason, details in [("spam", "Asks for an upfront fee"), ("off_platform", "Wants payment by gift card")]:
        services.report_create(reporter=UserFactory(role="freelancer"), target=gig, reason=reason, details=details)
    services.report_create(reporter=UserFactory(role="freelancer"), target=honest, reason="other", details="Unsure")

    # The owner holds a working API token, and the gig is public.
    api = pw.request.new_context(base_url=base_url)
    response = api.post("/api/v1/auth/token/", data={"email": owner.email, "password": PASSWORD})
    assert response.status == 201, response.text()
    owner_api = pw.request.new_context(
        base_url=base_url, extra_http_headers={"Authorization": f"Token {response.json()['token']}"}
    )
    assert owner_api.get("/api/v1/me/").status == 200
    assert gig.pk in _public_gig_ids(api)

    # 1. Sign in.
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", moderator.email)
    page.fill("#id_password", PASSWORD)
    _shot(page, "01-login")
    page.click("input[type=submit]")
    page.wait_for_selector("text=Queue: open reports by item")
    _shot(page, "02-dashboard")

    # 2. The reports queue: one row per reported item, most-reported first.
    page.click("text=Queue: open reports by item")
    page.wait_for_selector("#result_list")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "Easy money" in rows.nth(0).inner_text() and "2" in rows.nth(0).locator("td.field-open_reports").inner_text()
    _shot(page, "03-reports-queue")

    # 3. Hide the reported gig, with a reason.
    rows.filter(has_text="Easy money").locator("input.action-select").check()
    page.select_option("select[name=action]", "hide_reported")
    page.click("button[name=index]")
    page.wait_for_selector("#moderation-reason-form")
    page.fill("#id_reason", "Advance-fee scam: asks freelancers to pay a registration fee.")
    _shot(page, "04-hide-reason")
    page.click("#moderation-reason-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Hide the reported item: done for 1 row(s)." in page.inner_text("ul.messagelist")
    assert page.locator("#result_list tbody tr").count() == 1  # the gig's reports are closed
    _shot(page, "05-after-hide")

    # 4. Suspend the owner, from the gig's own admin list.
    page.goto(f"{base_url}/admin/marketplace/gig/?q=Easy+money")
    page.locator("#result_list tbody tr").filter(has_text="Easy money").locator("input.action-select").check()
    page.select_option("select[name=action]", "suspend_owner")
    page.click("button[name=index]")
    page.fill("#id_reason", "Posted a scam gig; asked for payment outside Matchwork.")
    _shot(page, "06-suspend-reason")
    page.click("#moderation-reason-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")

    # 5. The gig's page shows the audit trail.
    page.goto(f"{base_url}/admin/marketplace/gig/{gig.pk}/change/")
    page.wait_for_selector("text=Moderation audit trail")
    trail = page.inner_text("body")
    assert "Advance-fee scam" in trail and "Hidden" in trail and moderator.email in trail
    _shot(page, "07-gig-audit-trail")

    # Through the API: the gig is gone from public lists, the owner's token no longer works.
    assert gig.pk not in _public_gig_ids(api)
    assert honest.pk in _public_gig_ids(api)
    assert api.get(f"/api/v1/gigs/{gig.pk}/").status == 404
    assert owner_api.get("/api/v1/me/").status == 401
    response = api.post("/api/v1/auth/token/", data={"email": owner.email, "password": PASSWORD})
    assert response.status in (400, 401, 403), response.text()

    # Matching was told about the hidden gig (twice: hidden, then its owner suspended).
    assert announced.count(("gig", gig.pk)) == 2

    # And in the database: decisions recorded, nothing deleted.
    assert Gig.objects.get(pk=gig.pk).moderation_status == "hidden"
    assert User.objects.get(pk=owner.pk).is_suspended
    assert set(Report.objects.filter(target_id=gig.pk).values_list("status", flat=True)) == {"actioned"}
    assert list(
        ModerationAction.objects.filter(moderator=moderator).order_by("id").values_list("action", flat=True)
    ) == [
        "hide",
        "suspend",
    ]
    api.dispose()
    owner_api.dispose()


@pytest.mark.django_db(transaction=True)
def test_moderator_approves_a_new_clients_gig_and_merges_a_typed_skill(live_server, browser_page, settings, announced):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    pw, page = browser_page
    try:
        _review_and_curate(live_server.url, pw, page)
    finally:
        connections.close_all()


def _review_and_curate(base_url: str, pw, page) -> None:
    """The rest of the day: the gigs-pending-review queue and the unreviewed-skills queue."""
    load_seed_taxonomy(Skill)  # an earlier transactional test may have flushed the seeded taxonomy
    moderator = User.objects.create_superuser("moderator@matchwork.example", PASSWORD, full_name="Mo Derator")
    client = ClientFactory(name="Fresh Startup GmbH")
    owner = client.memberships.get().user
    draft = services.gig_create(
        client=client,
        created_by=owner,
        title="Transcribe 40 hours of German interviews",
        description="Verbatim transcripts with speaker labels.",
        budget_type="fixed",
        budget_min=800,
        budget_max=1200,
        skills=[services.SkillNeed("Audio transcription")],
    )
    held = services.gig_publish(gig=draft, by=owner)
    assert held.moderation_status == "pending"  # a new client's first gig waits for review
    services.freelancer_profile_create(
        user=UserFactory(role="freelancer"),
        display_name="Lena Vogel",
        headline="Transcriber",
        hourly_rate=25,
        skills=[services.SkillClaim("Germn transcripton work", level="expert")],
    )
    typed = Skill.objects.get(name="Germn transcripton work")
    assert typed.review_state == "unreviewed"
    api = pw.request.new_context(base_url=base_url)
    assert held.pk not in _public_gig_ids(api)

    page.goto(f"{base_url}/admin/login/?next=/admin/marketplace/gigreviewqueue/")
    page.fill("#id_username", moderator.email)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#result_list")
    assert "Transcribe 40 hours" in page.inner_text("#result_list")
    _shot(page, "08-gigs-pending-review")
    page.locator("#result_list tbody tr").filter(has_text="Transcribe 40 hours").locator("input.action-select").check()
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.fill("#id_reason", "Checked the company register; a real business.")
    page.click("#moderation-reason-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert held.pk in _public_gig_ids(api)

    page.goto(f"{base_url}/admin/marketplace/skillreviewqueue/")
    page.wait_for_selector("#result_list")
    page.locator("#result_list tbody tr").filter(has_text="Germn transcripton work").locator(
        "input.action-select"
    ).check()
    _shot(page, "09-unreviewed-skills")
    page.select_option("select[name=action]", "skill_merge")
    page.click("button[name=index]")
    canonical = Skill.objects.get(name="Audio transcription", review_state="approved")
    page.select_option("#id_into", str(canonical.pk))
    page.fill("#id_reason", "Misspelling of Audio transcription.")
    _shot(page, "10-merge-skill")
    page.click("#moderation-reason-form input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    typed.refresh_from_db()
    assert typed.merged_into_id == canonical.pk
    assert FreelancerSkill.objects.filter(profile__display_name="Lena Vogel", skill=canonical, level="expert").exists()
    api.dispose()
