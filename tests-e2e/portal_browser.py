"""Browser helpers for the portal's end-to-end tests: Debian's Chromium through Playwright, axe-core, screenshots.

`playwright install` cannot download browsers here, so the system's /usr/bin/chromium is driven through
executable_path; every flag keeps it from calling anything but the loopback stack it is pointed at.
"""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps", "--disable-extensions"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
BLOCKING_IMPACTS = ("serious", "critical")
_AXE = Axe()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


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
    """A PNG of the page for the README (docs/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
