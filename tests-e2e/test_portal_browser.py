"""The web portal in a real browser, through the gateway: search and filter, a plugin's page, sign in,
install with the form generated from its schema, watch the job live to `completed`, cancel another mid-way.
Every page passes axe-core without a serious or critical violation; the README's screenshots come from here."""

import re

import pytest
from playwright.sync_api import expect as see
from portal_browser import check_accessible, screenshot

from api_client import expect
from factories import new_account, publish_plugin, upload_icon, wait_until_known
from marketplace_shared.testing import unique_name, wait_for
from stack import SERVICES

INSTALL_WORKER = "install-service-worker"
SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "apiUrl": {"type": "string", "title": "API URL", "description": "Where the plugin's backend answers"},
    "refreshSeconds": {"type": "integer", "title": "Refresh interval (seconds)", "minimum": 10, "default": 60},
    "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"},
    "debug": {"type": "boolean", "title": "Debug logging"}}}
LONG_DESCRIPTION = ("## What it does\n\nShows **live metrics** next to each component.\n\n"
                    "<script>window.__owned = true</script> [bad](javascript:window.__owned=true)\n\n"
                    "- dashboards\n- alerts\n")


@pytest.fixture
def slow_install_worker(stack):
    """The install worker restarted with a pause before each step, so that the live view has something to show."""
    service = next(service for service in SERVICES if service.name == "install-service")
    normal = dict(stack.worker_env.get(service.name, {}))
    stack.stop_process(INSTALL_WORKER)
    stack.worker_env[service.name] = {**normal, "INSTALL_STEP_DELAY_SECONDS": "0.7"}
    try:
        stack.start_worker(service)
        wait_for(lambda: stack.is_ready(INSTALL_WORKER), timeout=60, message="the slow install worker")
        yield
    finally:
        stack.stop_process(INSTALL_WORKER)
        stack.worker_env[service.name] = normal
        stack.start_worker(service)
        wait_for(lambda: stack.is_ready(INSTALL_WORKER), timeout=60, message="the install worker to restart")


@pytest.fixture
def world(admin):
    publisher = new_account(admin, "publisher")
    user = new_account(admin, "user")
    word = unique_name("pulse").replace("_", "")
    plugin = publish_plugin(publisher, name=f"{word}-board", displayName="Pulse Board",
                            description=f"Live {word} dashboards", category="monitoring", schema=SCHEMA,
                            longDescription=LONG_DESCRIPTION, tags=["metrics", word])
    upload_icon(publisher, plugin["id"])
    other = publish_plugin(publisher, name=f"{word}-alerts", displayName="Pulse Alerts", description=f"{word} alerts",
                           category="monitoring", tags=[word])
    for item in (plugin, other):
        wait_until_known(admin, user, item["id"], "1.0.0")
    return {"word": word, "plugin": plugin, "other": other, "user": user, "publisher": publisher}


def sign_in(page, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_search_filter_open_sign_in_install_live_and_cancel(page, stack, admin, world, slow_install_worker):
    word = world["word"]

    # The gateway URL shows the portal.
    page.goto("/")
    see(page.get_by_role("heading", name="Discover plugins for your developer portal")).to_be_visible()
    check_accessible(page, "home")
    screenshot(page, "home")

    # Live search: results change as one types, the URL follows, no page load.
    page.goto("/plugins")
    check_accessible(page, "plugins")
    page.evaluate("window.__samePage = true")
    page.locator("#search").fill(word)
    see(page.get_by_role("heading", name=re.compile(r"^2 plugins for"))).to_be_visible()
    assert f"search={word}" in page.url
    assert page.evaluate("window.__samePage") is True
    # Facets with counts that follow the search, a filter chip, the back button.
    facet = page.locator(".facets").get_by_role("link", name=re.compile(r"^monitoring"))
    see(facet).to_contain_text("2")
    tag_link = page.locator(".facets section[aria-labelledby=facet-tags]").get_by_role(
        "link", name=re.compile(r"^metrics\b"))
    see(tag_link).to_contain_text("1")
    tag_link.click()
    see(page.get_by_role("heading", name=re.compile(r"^1 plugin for"))).to_be_visible()
    see(page.get_by_role("link", name=re.compile("Tag: metrics"))).to_be_visible()
    assert page.evaluate("window.__samePage") is True
    check_accessible(page, "plugins, filtered")
    screenshot(page, "plugins")
    page.go_back()
    see(page.get_by_role("heading", name=re.compile(r"^2 plugins for"))).to_be_visible()

    # Without JavaScript the same URL renders whole.
    response = page.request.get(f"/plugins?search={word}&tags=metrics")
    assert response.ok and "Pulse Board" in response.text()

    # The plugin's page: markdown rendered, its markup inert.
    page.get_by_role("link", name="Pulse Board").click()
    see(page.get_by_role("heading", name=re.compile("Pulse Board"))).to_be_visible()
    see(page.locator(".markdown strong").first).to_have_text("live metrics")
    assert page.evaluate("window.__owned === undefined")
    see(page.get_by_role("img", name="Rating distribution")).to_be_visible()
    check_accessible(page, "plugin detail")
    screenshot(page, "plugin-detail")

    # Install: sign in first, then back to the form generated from the schema.
    page.get_by_role("link", name="Install", exact=True).click()
    see(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessible(page, "sign in")
    sign_in(page, "mkp_wrong_key_" + word)
    see(page.get_by_role("alert")).to_contain_text("was not accepted")
    sign_in(page, world["user"].key)
    see(page.get_by_role("heading", name="Install Pulse Board")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "mkp_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and world["user"].key not in cookie["value"]
    see(page.get_by_label("Refresh interval (seconds)")).to_have_value("60")
    see(page.get_by_label("mode")).to_have_value("safe")
    see(page.locator("#config-json")).to_be_hidden()  # the raw JSON tab, behind its radio
    see(page.get_by_text("Backstage: needs")).to_contain_text("^1.30.0")
    check_accessible(page, "install form")

    # Before installing, a plain user sees what the chosen environment runs against the version's ranges.
    environment = f"portal-{word}"[:40]
    expect(admin.post("/environments", json={"name": environment, "backstageVersion": "1.36.0",
                                             "nodeVersion": "20.11.0"}), 201)
    page.get_by_label("Environment").fill(environment)
    page.get_by_role("button", name="Check again for this environment").click()
    see(page.get_by_text("Backstage: needs")).to_contain_text(f"{environment} runs 1.36.0 — compatible")
    see(page.get_by_text("Node.js: needs")).to_contain_text(f"{environment} runs 20.11.0 — compatible")
    page.get_by_label("Refresh interval (seconds)").fill("5")
    page.get_by_role("button", name=re.compile("^Install ")).click()
    see(page.locator(".field-error").first).to_be_visible()
    see(page.get_by_text("5 is less than the minimum of 10")).to_be_visible()
    check_accessible(page, "install form with errors")
    page.get_by_label("API URL").fill("https://metrics.example.com")
    page.get_by_label("Refresh interval (seconds)").fill("30")
    page.get_by_label("Debug logging").check()
    screenshot(page, "install")
    page.get_by_role("button", name=re.compile("^Install ")).click()

    # The job, live: progress and log lines arrive without reloading, up to completed.
    see(page.get_by_role("heading", name=re.compile("Status:"))).to_be_visible()
    match = re.search(r"/installations/(install_[A-Za-z0-9]+)", page.url)
    assert match, page.url
    installation_id = match.group(1)
    page.evaluate("window.__samePage = true")
    see(page.locator("[data-field=status]")).to_have_text("in_progress", timeout=15_000)
    wait_for(lambda: page.locator("#job-log li").count() >= 2, timeout=30, message="log lines to arrive live")
    check_accessible(page, "installation, running")
    screenshot(page, "installation-live")
    see(page.locator("[data-field=status]")).to_have_text("completed", timeout=60_000)
    see(page.locator("#job-progress")).to_have_attribute("value", "100")
    assert page.evaluate("window.__samePage") is True
    installed = expect(world["user"].get(f"/installations/{installation_id}"), 200)["data"]
    assert installed["status"] == "completed"
    assert installed["configuration"] == {"apiUrl": "https://metrics.example.com", "refreshSeconds": 30,
                                          "mode": "safe", "debug": True}
    page.get_by_role("link", name="Show the outcome and actions").click()
    see(page.get_by_role("button", name="Uninstall")).to_be_visible()
    see(page.get_by_role("button", name="Upgrade")).to_be_visible()
    check_accessible(page, "installation, completed")

    # Another one, cancelled mid-way from its live page.
    page.goto(f"/plugins/{world['other']['name']}/install")
    page.get_by_label("Environment").fill(environment)
    page.get_by_role("button", name=re.compile("^Install ")).click()
    see(page.locator("[data-field=status]")).to_have_text("in_progress", timeout=15_000)
    page.get_by_role("button", name="Cancel installation").click()
    see(page.locator("[data-field=status]")).to_have_text(re.compile("cancell"), timeout=15_000)
    see(page.locator("[data-field=status]")).to_have_text("cancelled", timeout=60_000)

    # My installations: both, with their outcome.
    page.goto("/installations")
    see(page.get_by_role("cell", name="completed")).to_be_visible()
    see(page.get_by_role("cell", name="cancelled")).to_be_visible()
    check_accessible(page, "my installations")
    screenshot(page, "installations")

    # The API reference, from the product's own files.
    page.goto("/docs")
    see(page.locator(".swagger-ui .information-container")).to_be_visible(timeout=20_000)
    screenshot(page, "api-docs")

    # Sign out: the session ends.
    page.get_by_role("button", name="Sign out").click()
    see(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.goto("/installations")
    see(page.get_by_role("heading", name="Sign in")).to_be_visible()


def expect_headers(response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["X-RateLimit-Remaining"]


def test_pages_spend_no_api_budget_and_static_files_are_cached(stack, anonymous):
    import requests
    session = requests.Session()
    session.trust_env = False
    page = session.get(stack.gateway_url + "/", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    css = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', page.text).group(1)
    asset = session.get(stack.gateway_url + css, timeout=10)
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    # Pages and static files are not counted against the visitor's API budget (a page's own API calls are).
    def remaining():
        return int(expect_headers(session.get(stack.gateway_url + "/api/marketplace/v1/tags", timeout=10)))

    before = remaining()
    for _ in range(5):
        for path in ("/sign-in", css):
            answer = session.get(stack.gateway_url + path, timeout=10)
            assert answer.status_code == 200 and "X-RateLimit-Remaining" not in answer.headers
    assert remaining() == before - 1  # only the two API calls were counted
    # The API call the plugin list makes counts as this visitor's, in the portal-visitor budget of this address
    # (the portal sends the stack's PORTAL_TOKEN, so the gateway believes its X-Forwarded-For;
    # gateway/tests/unit/test_portal_token.py shows it is one budget per visitor), not in the anonymous budget
    # a direct caller spends.
    before = remaining()
    assert session.get(stack.gateway_url + "/plugins", timeout=10).status_code == 200
    assert remaining() == before - 1
    # The token, not the address, is what makes a call the portal's: a wrong one is an ordinary anonymous call.
    tags = stack.gateway_url + "/api/marketplace/v1/tags"
    for token, policy in ((stack.portal_token, "portal_visitor"), (stack.portal_token[:-1], "anonymous")):
        answer = session.get(tags, headers={"X-Marketplace-Portal-Token": token}, timeout=10)
        assert answer.status_code == 200 and answer.headers["RateLimit-Policy"].startswith(f'"{policy}"')
    # The API reference at the gateway's docs path is the portal's, from pinned files: nothing from a CDN.
    docs = session.get(stack.gateway_url + "/api/marketplace/v1/docs", timeout=10)
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle." in docs.text
    assert "cdn" not in docs.text.lower() and "https://" not in docs.headers["Content-Security-Policy"]
    # The APIs are where they were.
    expect(anonymous.get("/plugins"), 200)
    missing = session.get(stack.gateway_url + "/api/marketplace/v1/nothing", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    # A page that does not exist is a page that says so, with the request id.
    missing = session.get(stack.gateway_url + "/no-such-page", timeout=10)
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert missing.headers["X-Request-Id"] in missing.text


def test_phone_sized_and_dark_pages_stay_accessible(browser, stack, world):
    context = browser.new_context(base_url=stack.gateway_url, viewport={"width": 390, "height": 844},
                                  color_scheme="dark", is_mobile=True)
    page = context.new_page()
    try:
        for path, name in (("/", "home"), (f"/plugins?search={world['word']}", "plugins"),
                           (f"/plugins/{world['plugin']['name']}", "plugin detail"), ("/sign-in", "sign in")):
            page.goto(path)
            see(page.locator("main")).to_be_visible()
            # Nothing wider than the screen: the layout reflows rather than scrolling sideways.
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), name
            assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
            check_accessible(page, f"{name} (phone, dark)")
        page.goto(f"/plugins?search={world['word']}")
        screenshot(page, "plugins-phone-dark")
    finally:
        context.close()
