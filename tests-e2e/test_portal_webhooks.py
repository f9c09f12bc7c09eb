"""Webhooks in the portal, in a real browser against the real system: create one pointing at a receiver on
127.0.0.1 (started here), read its secret once, ping it, see the delivery and its attempts in the log, check the
signature with the secret the page showed, redeliver, edit. Each page passes axe-core."""

import base64
import hashlib
import hmac
import re

import pytest
from playwright.sync_api import expect as see
from portal_browser import check_accessible, screenshot, sign_in
from webhook_receiver import Receiver, always

from factories import new_account
from marketplace_shared.testing import wait_for


@pytest.fixture
def receiver():
    with Receiver(always(200, body=b"thanks")) as running:
        yield running


def standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def delivered(page, webhook_path: str, count: int) -> bool:
    """Reload the webhook's page until `count` deliveries show as succeeded (deliveries are asynchronous)."""
    page.goto(webhook_path)
    return page.locator(".delivery-status", has_text="succeeded").count() >= count


def test_create_a_webhook_and_see_a_delivery(page, admin, receiver):
    user = new_account(admin, "user")
    sign_in(page, user.key)
    page.get_by_role("link", name="Webhooks").click()
    see(page.get_by_text("No webhook yet")).to_be_visible()
    check_accessible(page, "webhooks, empty")

    page.get_by_role("link", name="Create a webhook").click()
    check_accessible(page, "create a webhook")
    # A URL the service refuses (not http) comes back with the message next to the field.
    page.get_by_label("Payload URL").fill("ftp://127.0.0.1/hook")
    page.get_by_role("button", name="Create webhook").click()
    see(page.locator("#e-url")).to_have_text("An http:// or https:// URL.")
    page.get_by_label("Payload URL").fill(receiver.url)
    page.get_by_label("Description").fill("Portal e2e")
    page.get_by_role("button", name="Create webhook").click()

    # The secret, once.
    see(page.get_by_role("heading", name="Webhook created")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]+", secret), secret
    check_accessible(page, "webhook created")
    page.get_by_role("link", name=re.compile("go to the webhook")).click()
    see(page.get_by_role("heading", name=re.compile("^Webhook"))).to_be_visible()
    webhook_path = page.url.replace(page.url.split("/webhooks/")[0], "")
    assert secret not in page.content()

    # Ping: the delivery arrives at the receiver, signed with the secret the page showed, and shows in the log.
    page.get_by_role("button", name="Send a test ping").click()
    see(page.get_by_role("status").filter(has_text="test delivery")).to_be_visible()
    wait_for(lambda: receiver.count >= 1, timeout=30, message="the ping at the receiver")
    arrived = receiver.received[0]
    assert arrived.headers["webhook-signature"].split()[0] == standard_signature(
        secret, arrived.headers["webhook-id"], arrived.headers["webhook-timestamp"], arrived.body)
    wait_for(lambda: delivered(page, webhook_path, 1), timeout=30, message="the delivery to show as succeeded")
    delivery = page.locator(".delivery").first
    see(delivery).to_contain_text("webhook.ping")
    see(delivery.locator(".attempts li").first).to_contain_text("HTTP 200")
    check_accessible(page, "webhook with its delivery log")
    screenshot(page, "webhooks")

    # Redeliver: a second attempt of the same delivery.
    delivery.get_by_role("button", name=re.compile("^Redeliver")).click()
    see(page.get_by_role("status").filter(has_text="sent again")).to_be_visible()
    wait_for(lambda: receiver.count >= 2, timeout=30, message="the redelivery at the receiver")
    wait_for(lambda: (page.goto(webhook_path) and False) or page.locator(".delivery .attempts li").count() >= 2,
             timeout=30, message="the second attempt in the log")

    # Edit: pause it.
    page.get_by_role("link", name="Edit", exact=True).click()
    check_accessible(page, "edit a webhook")
    page.get_by_label("Active (deliveries are sent)").uncheck()
    page.get_by_role("button", name="Save").click()
    see(page.get_by_role("status").filter(has_text="The webhook is saved")).to_be_visible()
    see(page.locator("dl.facts")).to_contain_text("paused")

    page.goto("/webhooks")
    see(page.get_by_role("link", name=receiver.url)).to_be_visible()
    check_accessible(page, "webhooks list")
