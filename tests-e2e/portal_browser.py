"""Browser helpers for the portal's end-to-end tests: Debian's Chromium through Playwright, axe-core, screenshots.

`playwright install` cannot download browsers here, so the system's /usr/bin/chromium is driven through
executable_path; every flag keeps it from calling anything but the loopback stack it is pointed at.
"""

import os
import tempfile
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect as see
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
BLOCKING_IMPACTS = ("serious", "critical")
_AXE = Axe()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (conftest.py makes this and `page` every module's fixtures)."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, stack):
    """A fresh browser context on the stack's gateway, closed after the test."""
    context = browser.new_context(base_url=stack.gateway_url, viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in(page, key: str) -> None:
    """Sign in with an API key on the portal's sign-in page and wait until the page shows it."""
    page.goto("/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    see(page.get_by_role("button", name="Sign out")).to_be_visible()


def accessibility_problems(page) -> list[str]:
    """The serious and critical axe-core violations of the page as it is now, one line each."""
    result = _AXE.run(page)
    problems = []
    for violation in result.response["violations"]:
        if violation.get("impact") in BLOCKING_IMPACTS:
            targets = [node["target"] for node in violation["nodes"][:3]]
            problems.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return problems


def check_accessible(page, name: str) -> None:
    problems = accessibility_problems(page)
    assert not problems, f"{name}: " + "\n".join(problems)


def screenshot(page, name: str) -> Path:
    """A PNG of the page: into docs/screenshots/<name>.png (the README's) with UPDATE_SCREENSHOTS=1
    (`make screenshots`), else beside the run's other temporary files, so a test run leaves the tree clean."""
    updating = os.environ.get("UPDATE_SCREENSHOTS") == "1"
    folder = SCREENSHOTS if updating else Path(tempfile.gettempdir()) / "portal-shots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
