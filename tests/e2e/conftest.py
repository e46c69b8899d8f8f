"""Browser tests: Playwright (Python) driving Debian's chromium against a live Django server.

Never `playwright install`: the browser is the system's /usr/bin/chromium (`make browser` installs it).
Every page a test opens records console errors and uncaught exceptions; a test fails if any appear.
Screenshots go to test-artifacts/ (gitignored; CI keeps them as artifacts).
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the Django ORM calls made by fixtures are
# synchronous and safe here (nothing else runs on that loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DIST = REPO / "frontend" / "static" / "frontend" / "dist"
SRC = REPO / "frontend" / "src"
PASSWORD = "e2e-password-Xq7!"


@pytest.fixture(scope="session", autouse=True)
def built_assets():
    """The UI bundle (make test builds it first; this rebuilds when a source is newer, e.g. in an IDE run)."""
    newest_src = max(p.stat().st_mtime for p in SRC.iterdir())
    bundle = DIST / "app.js"
    if not bundle.exists() or bundle.stat().st_mtime < newest_src or not (DIST / "app.css").exists():
        node = shutil.which("node")
        assert node, "node is needed to build the UI bundle (npm ci && npm run build)"
        subprocess.run([node, "frontend/build.mjs"], cwd=REPO, check=True)
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
    return DIST


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: apt-get install -y chromium (make browser)"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleWatch:
    """Collects console errors and uncaught page errors of every page of a context.

    A test that provokes an error response on purpose (a bad upload → 400) declares it with
    `allow(status, url_part)`: Chromium logs every failed request as a console error.
    """

    def __init__(self):
        self.errors: list[str] = []
        self.allowed: list[tuple[str, str]] = []

    def allow(self, status: int, url_part: str) -> None:
        self.allowed.append((f"status of {status}", url_part))

    def _console(self, page, msg) -> None:
        if msg.type != "error":
            return
        url = (msg.location or {}).get("url", "")
        if any(status in msg.text and part in url for status, part in self.allowed):
            return
        self.errors.append(f"{page.url}: console.error: {msg.text} @ {msg.location}")

    def attach(self, page):
        page.on("console", lambda msg: self._console(page, msg))
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: uncaught: {exc}"))


@pytest.fixture
def console_errors():
    watch = ConsoleWatch()
    yield watch
    assert not watch.errors, "the browser console reported errors:\n" + "\n".join(watch.errors)


@pytest.fixture
def new_context(browser, console_errors, live_server):
    """new_context() → a fresh browser context (own cookies: logged out), its pages watched."""
    contexts = []

    def make(**kw):
        kw.setdefault("viewport", {"width": 1440, "height": 900})
        ctx = browser.new_context(base_url=live_server.url, accept_downloads=True, **kw)
        ctx.set_default_timeout(20_000)
        ctx.on("page", console_errors.attach)
        contexts.append(ctx)
        return ctx

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def logged_in_page(new_context, user):
    """A page of a context logged in as alice through the login form."""
    ctx = new_context()
    page = ctx.new_page()
    page.goto("/accounts/login/?next=/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    return page


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
