"""Reviews in the portal, in a real browser against the real system: write a review and see the plugin's rating
change, edit it, vote someone else's helpful, report it; each page passes axe-core (no serious/critical)."""

import re

from playwright.sync_api import expect as see
from portal_browser import check_accessible, screenshot, sign_in

from factories import new_account, publish_plugin, wait_until_reviewable
from marketplace_shared.testing import unique_name, wait_for


def shown_rating(page, plugin_name: str, expected: str) -> bool:
    """Reload the plugin page until its rating reads `expected` (the catalog learns ratings through events)."""
    page.goto(f"/plugins/{plugin_name}")
    return page.locator(".rating-big").inner_text().startswith(expected)


def test_write_a_review_and_see_the_rating_change(page, admin):
    publisher = new_account(admin, "publisher")
    reader, other = new_account(admin, "user"), new_account(admin, "user")
    name = unique_name("rated").replace("_", "-")
    plugin = publish_plugin(publisher, name=name, displayName=name.title(), description="Rated in a browser")
    # Someone else's five-star review, through the API (once the review service knows the plugin).
    theirs = wait_until_reviewable(other, plugin["id"], rating=5, title="Five stars", review="Lovely")
    wait_for(lambda: shown_rating(page, name, "5.0"), timeout=30, message="the first rating to reach the catalog")

    sign_in(page, reader.key)
    page.goto(f"/plugins/{name}")
    see(page.get_by_role("heading", name="Write a review")).to_be_visible()
    check_accessible(page, "plugin page with the review form")

    # A review without a rating comes back with the message next to the field.
    page.get_by_label("Title").fill("Not for us")
    page.get_by_role("button", name="Publish review").click()
    # The browser's own `required` check keeps the form from leaving: the rating is asked for first.
    assert page.evaluate("document.querySelector('input[name=rating]').validity.valueMissing") is True

    page.get_by_label("1 star", exact=True).check()
    page.get_by_label("Your review").fill("Crashed twice <script>window.__owned = true</script>")
    page.get_by_role("button", name="Publish review").click()
    see(page.get_by_role("status").filter(has_text="your review is published")).to_be_visible()
    see(page.get_by_text("Crashed twice <script>window.__owned = true</script>")).to_be_visible()
    # Found with its own call (?mine=true), first, under its own heading.
    see(page.get_by_role("heading", name="Your review")).to_be_visible()
    assert page.evaluate("window.__owned === undefined")

    # The rating changes: (5 + 1) / 2.
    wait_for(lambda: shown_rating(page, name, "3.0"), timeout=30, message="the rating to change to 3.0")
    see(page.locator(".rating-big")).to_contain_text("from 2 ratings")
    check_accessible(page, "plugin page with reviews")
    page.evaluate("document.getElementById('reviews').scrollIntoView()")  # the reviews in the picture
    screenshot(page, "reviews")

    # Edit one's own review.
    page.get_by_role("link", name="Edit your review").click()
    see(page.get_by_role("heading", name=re.compile("^Edit your review"))).to_be_visible()
    check_accessible(page, "edit review")
    page.get_by_label("3 stars", exact=True).check()
    page.get_by_role("button", name="Save").click()
    see(page.get_by_role("status").filter(has_text="Your review is updated")).to_be_visible()
    wait_for(lambda: shown_rating(page, name, "4.0"), timeout=30, message="the rating to follow the edit")

    # Vote the other review helpful, then report it.
    their_review = page.locator(f"#review-{theirs['id']}")
    their_review.get_by_role("button", name=re.compile("^Helpful")).click()
    see(page.get_by_role("status").filter(has_text="your vote is counted")).to_be_visible()
    see(page.locator(f"#review-{theirs['id']} .helpful-count")).to_have_text("1 found this helpful")
    page.locator(f"#review-{theirs['id']}").get_by_role("link", name=re.compile("^Report")).click()
    see(page.get_by_role("heading", name=re.compile("^Report a review"))).to_be_visible()
    check_accessible(page, "report review")
    page.get_by_label("Why should the moderators look at it?").select_option("spam")
    page.get_by_role("button", name="Report").click()
    see(page.get_by_role("status").filter(has_text="the moderators will look at this review")).to_be_visible()
    moderation = admin.get(f"/reviews/{theirs['id']}").json()["data"]["moderation"]
    assert moderation["reports"] == 1

    # Delete one's own review: the form to write one is back.
    page.get_by_role("button", name="Delete your review").click()
    see(page.get_by_role("status").filter(has_text="Your review is deleted")).to_be_visible()
    see(page.get_by_role("heading", name="Write a review")).to_be_visible()
    wait_for(lambda: shown_rating(page, name, "5.0"), timeout=30, message="the rating to drop the deleted review")
