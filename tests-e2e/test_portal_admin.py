"""Administration in the portal, in a real browser against the real system: verify and feature a plugin, create
an account and give it a key (shown once, and it works), moderate a reported review. Each page passes axe-core."""

import re

from playwright.sync_api import expect as see
from portal_browser import check_accessible, screenshot, sign_in

from api_client import ApiClient, expect
from factories import new_account, publish_plugin, wait_until_reviewable
from marketplace_shared.testing import unique_name, wait_for


def test_administrators_verify_feature_manage_accounts_and_moderate(page, stack, admin, anonymous):
    publisher = new_account(admin, "publisher")
    name = unique_name("vetted").replace("_", "-")
    plugin = publish_plugin(publisher, name=name, displayName=name.title())
    critic, reporter = new_account(admin, "user"), new_account(admin, "user")
    review = wait_until_reviewable(critic, plugin["id"], rating=1, title="Buy my stuff", review="spam spam")
    expect(reporter.post(f"/reviews/{review['id']}/report", json={"reason": "spam"}), 201)

    # A user does not see the administration.
    sign_in(page, critic.key)
    see(page.get_by_role("link", name="Admin")).to_have_count(0)
    assert page.goto("/admin").status == 403
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, stack.admin_key)
    page.get_by_role("link", name="Admin", exact=True).click()
    see(page.get_by_role("heading", name="Administration")).to_be_visible()
    check_accessible(page, "admin dashboard")

    # Verify and feature the plugin.
    page.get_by_role("link", name="Plugins", exact=True).last.click()
    page.get_by_label("Find a plugin").fill(name)
    page.get_by_role("button", name="Search", exact=True).last.click()
    row = page.locator(f"#plugin-{name}")
    see(row).to_be_visible()
    check_accessible(page, "admin plugins")
    row.get_by_role("button", name=re.compile("^Feature")).click()
    see(page.get_by_role("status").filter(has_text="featured is on")).to_be_visible()
    page.locator(f"#plugin-{name}").get_by_role("button", name=re.compile("^Verify")).click()
    see(page.get_by_role("status").filter(has_text="verified is on")).to_be_visible()
    shown = expect(anonymous.get(f"/plugins/{plugin['id']}"), 200)["data"]
    assert shown["featured"] is True and shown["verified"] is True

    # An account and its key, shown once; the key works.
    page.goto("/admin/accounts")
    check_accessible(page, "admin accounts")
    person = unique_name("nia")
    page.locator("#f-name").fill(person)
    page.locator("#f-email").fill(f"{person}@example.com")
    page.locator("#f-role").select_option("publisher")
    page.get_by_role("button", name="Create account").click()
    see(page.get_by_role("status").filter(has_text=f"Account {person} created")).to_be_visible()
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create a key").click()
    key = page.locator("#new-api-key").inner_text().strip()
    assert key.startswith("mkp_")
    check_accessible(page, "admin account with a new key")
    screenshot(page, "admin-account")
    me = expect(ApiClient(stack.gateway_url, key).get("/me"), 200)["data"]
    assert me["name"] == person and me["role"] == "publisher"
    page.goto(page.url.rsplit("/keys", 1)[0])  # the account page again (a reload would post the form once more)
    assert key not in page.content()
    page.get_by_role("button", name=re.compile("^Revoke")).click()
    see(page.get_by_role("status").filter(has_text="The key is revoked")).to_be_visible()
    wait_for(lambda: ApiClient(stack.gateway_url, key).get("/me").status_code == 401, timeout=10,
             message="the revoked key to be refused")

    # The moderation queue across every plugin: the reported review, linking to its plugin.
    page.goto("/admin/reviews")
    entry = page.locator(f"#review-{review['id']}")
    see(entry).to_contain_text("1 report")
    see(entry.get_by_role("link", name=name.title())).to_have_attribute("href", f"/plugins/{name}#reviews")
    check_accessible(page, "moderation queue")
    screenshot(page, "moderation")
    # Narrowed to the plugin: reported, hidden, restored.
    page.locator("#moderation-plugin").select_option(name)
    page.get_by_role("button", name="Show its reviews").click()
    see(page.get_by_role("heading", name=re.compile("^Reported: 1 review "))).to_be_visible()
    entry = page.locator(f"#review-{review['id']}")
    see(entry).to_contain_text("1 report")
    check_accessible(page, "moderation queue of one plugin")
    entry.get_by_label("Reason to hide").fill("Advertising")
    entry.get_by_role("button", name=re.compile("^Hide")).click()
    see(page.get_by_role("status").filter(has_text="hidden")).to_be_visible()
    see(page.locator(f"#review-{review['id']}")).to_contain_text("(Advertising)")
    assert review["id"] not in anonymous.get(f"/plugins/{plugin['id']}/reviews").text
    page.locator(f"#review-{review['id']}").get_by_role("button", name=re.compile("^Restore")).click()
    see(page.get_by_role("status").filter(has_text="visible again")).to_be_visible()
    assert review["id"] in anonymous.get(f"/plugins/{plugin['id']}/reviews").text
