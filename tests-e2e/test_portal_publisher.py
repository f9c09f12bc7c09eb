"""Publishing in the portal, in a real browser against the real system: create a plugin, upload a version (a
validation error shown next to its field first), an icon, see it in the public catalog; deprecate with a
replacement, yank a version with a reason, unpublish and publish again. Each page passes axe-core."""

import re

from playwright.sync_api import expect as see
from portal_browser import check_accessible, screenshot, sign_in

from api_client import expect
from factories import new_account, publish_plugin
from marketplace_shared.testing import unique_name
from seed import npm_package, png_icon


def test_publish_a_plugin_with_an_icon_and_a_version(page, admin, anonymous):
    publisher = new_account(admin, "publisher")
    replacement = publish_plugin(publisher, name=unique_name("successor").replace("_", "-"))
    name = unique_name("browser-made").replace("_", "-")
    sign_in(page, publisher.key)

    page.get_by_role("link", name="Publishing").click()
    see(page.get_by_role("heading", name="Your plugins")).to_be_visible()
    see(page.get_by_role("cell", name=re.compile(replacement["name"]))).to_be_visible()
    check_accessible(page, "publisher dashboard")

    # Create the plugin.
    page.get_by_role("link", name="Create a plugin").click()
    check_accessible(page, "create a plugin")
    page.locator("#f-name").fill(name)
    page.get_by_label("Display name").fill("Browser Made")
    page.locator("#f-description").fill("Published from the portal")
    page.locator("#f-category").fill("monitoring")
    page.get_by_label("Tags").fill("portal, e2e")
    page.get_by_label("Backstage versions (default for every version)").fill("^1.30.0")
    page.get_by_label("Long description (Markdown)").fill("## Hello\n\nMade **in a browser**.")
    page.get_by_role("button", name="Create plugin").click()
    see(page.get_by_role("status").filter(has_text=f"Plugin {name} created")).to_be_visible()
    see(page.locator("#plugin-status")).to_have_text("unpublished")

    # A version with a bad version number: the API's message shows next to the field.
    page.get_by_role("link", name="Upload a version").click()
    check_accessible(page, "upload a version")
    package = {"name": f"{name}-1.0.0.tgz", "mimeType": "application/gzip", "buffer": npm_package(name, "1.0.0")}
    page.locator("#f-version").fill("one point oh")
    page.locator("#f-package").set_input_files(package)
    page.get_by_label("Release notes (Markdown)").fill("The first release")
    page.get_by_role("button", name="Publish version").click()
    see(page.locator("#e-version")).to_be_visible()
    see(page.locator("#f-version")).to_have_attribute("aria-invalid", "true")
    check_accessible(page, "upload a version, with errors")
    page.locator("#f-version").fill("1.0.0")
    page.locator("#f-package").set_input_files(package)
    page.get_by_role("button", name="Publish version").click()
    see(page.get_by_role("status").filter(has_text="Version 1.0.0 is published")).to_be_visible()
    see(page.locator("#plugin-status")).to_have_text("published")

    # The icon and a screenshot.
    page.get_by_label("Icon (PNG, JPEG, GIF or WebP)").set_input_files(
        {"name": "icon.png", "mimeType": "image/png", "buffer": png_icon(7, 64)})
    page.locator("#f-screenshots").set_input_files(
        [{"name": "shot.png", "mimeType": "image/png", "buffer": png_icon(8, 200)}])
    page.get_by_role("button", name="Upload images").click()
    see(page.get_by_role("status").filter(has_text="Images uploaded")).to_be_visible()
    see(page.get_by_role("img", name=re.compile("^Icon of Browser Made"))).to_be_visible()
    check_accessible(page, "manage a plugin")
    screenshot(page, "publisher")

    # In the public catalog: its icon, its version, its markdown.
    plugin = expect(anonymous.get(f"/plugins/{name}"), 200)["data"]
    assert plugin["version"] == "1.0.0" and plugin["icon"] and len(plugin["screenshots"]) == 1
    page.get_by_role("link", name="Public page").click()
    see(page.get_by_role("heading", name=re.compile("Browser Made"))).to_be_visible()
    see(page.locator(".markdown strong").first).to_have_text("in a browser")
    icon = page.locator("img.icon-large")
    see(icon).to_be_visible()
    assert page.evaluate("document.querySelector('img.icon-large').naturalWidth") > 0  # the image loaded

    # Deprecate with a replacement: the public page says which plugin to use.
    page.goto(f"/publisher/plugins/{name}")
    page.locator("#f-reason").fill("Superseded")
    page.get_by_label("Replacement plugin (name)").fill(replacement["name"])
    page.get_by_role("button", name="Deprecate").click()
    see(page.get_by_role("status").filter(has_text="marked deprecated")).to_be_visible()
    page.goto(f"/plugins/{name}")
    see(page.get_by_role("note").filter(has_text="Deprecated.")).to_contain_text("Superseded")
    see(page.get_by_role("link", name=replacement["name"])).to_be_visible()

    # Yank the version with a reason: it stays listed, with the reason.
    page.goto(f"/publisher/plugins/{name}")
    page.get_by_label("Reason to yank 1.0.0").fill("Broken build")
    page.get_by_role("button", name="Yank 1.0.0").click()
    see(page.get_by_role("status").filter(has_text="Version 1.0.0 is yanked")).to_be_visible()
    see(page.locator(".version-item.yanked")).to_contain_text("Broken build")
    assert expect(publisher.get(f"/plugins/{name}/versions/1.0.0"), 200)["data"]["yankReason"] == "Broken build"

    # Unpublish and publish again (a plugin whose versions are all yanked still has a page to manage).
    page.goto(f"/publisher/plugins/{replacement['name']}")
    page.get_by_role("button", name="Unpublish").click()
    see(page.locator("#plugin-status")).to_have_text("unpublished")
    assert anonymous.get(f"/plugins/{replacement['name']}").status_code == 404
    page.get_by_role("button", name="Publish again").click()
    see(page.locator("#plugin-status")).to_have_text("published")
    assert anonymous.get(f"/plugins/{replacement['name']}").status_code == 200

    page.goto("/publisher")
    see(page.get_by_role("row", name=re.compile("Browser Made"))).to_contain_text("published")
    check_accessible(page, "publisher dashboard with plugins")
