"""Signing in to the portal with an identity provider, in a browser: `oidc-provider-mock` on a loopback port,
one more gateway and portal in front of the stack's services configured for it (the gateway checks the
provider's ID tokens through its JWKS, the portal runs the code flow with PKCE), a person whose account the
gateway finds by the token's email: the portal shows their name and lists their installation, and signing
out goes through the provider's end-session page."""

import os
import re
import signal
import subprocess

import pytest
import requests
from playwright.sync_api import expect as see
from portal_browser import VIEWPORT, check_accessible

from factories import new_account, publish_plugin, wait_until_installable
from marketplace_shared.testing import free_port, unique_name, wait_for
from stack import GATEWAY, PYTHON, REPO, WEB

CLIENT_ID = "marketplace-portal-e2e"


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture(scope="module")
def oidc_system(stack, tmp_path_factory):
    """The mock provider, and a gateway + portal pair configured for it, sharing the stack's services."""
    var_dir = tmp_path_factory.mktemp("oidc")
    provider_port, gateway_port, web_port = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    gateway_url, web_url = f"http://127.0.0.1:{gateway_port}", f"http://127.0.0.1:{web_port}"

    gateway_env = stack.base_env(GATEWAY)
    gateway_env.update({"PORT": str(gateway_port), "WEB_URL": web_url, "JWT_ISSUER": issuer,
                        "JWT_JWKS_URL": f"{issuer}/jwks", "JWT_AUDIENCE": CLIENT_ID, "WEB_CONCURRENCY": "1",
                        "VAR_DIR": str(var_dir / "gateway")})
    web_env = stack.base_env(WEB)
    web_env.update({"PORT": str(web_port), "GATEWAY_URL": gateway_url, "OIDC_ISSUER": issuer,
                    "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_PROVIDER_NAME": "Mock SSO",
                    # The mock takes any secret, but no public client ("none") at its token endpoint.
                    "OIDC_CLIENT_SECRET": "e2e-secret", "WEB_CONCURRENCY": "1",
                    "VAR_DIR": str(var_dir / "web")})
    for env in (gateway_env, web_env):
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    commands = [
        ("provider", [PYTHON, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(provider_port)],
         REPO, dict(os.environ)),
        ("gateway", [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"], REPO / "gateway", gateway_env),
        ("web", [PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"], REPO / "web", web_env),
    ]
    processes = []
    try:
        for name, args, cwd, env in commands:
            log = open(var_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               start_new_session=True), log))
        wait_for(lambda: _ready(f"{issuer}/.well-known/openid-configuration"), timeout=60, message="the mock provider")
        wait_for(lambda: _ready(f"{web_url}/readyz"), timeout=60, message="the OIDC portal")
        wait_for(lambda: _ready(f"{gateway_url}/readyz"), timeout=60, message="the OIDC gateway")
        yield {"issuer": issuer, "gateway_url": gateway_url}
    finally:
        for process, log in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
            log.close()
        for name, *_ in commands:
            path = var_dir / f"{name}.log"
            if path.exists():
                print(f"--- {name} ---\n{path.read_text(errors='replace')[-6000:]}")


def test_sign_in_with_the_identity_provider_and_out(oidc_system, admin, browser):
    # A person with a marketplace account and one installation, known to the provider by the same email.
    person = new_account(admin, "user")
    publisher = new_account(admin, "publisher")
    plugin = publish_plugin(publisher, category="monitoring")
    wait_until_installable(person, plugin["id"])
    subject = unique_name("sso")
    response = requests.put(f"{oidc_system['issuer']}/users/{subject}", timeout=5,
                            json={"email": person.account["email"], "name": person.account["name"]})
    assert response.status_code == 204, response.text

    context = browser.new_context(base_url=oidc_system["gateway_url"], viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto("/sign-in?next=/installations")
        check_accessible(page, "sign in with a provider")
        page.get_by_role("link", name="Sign in with Mock SSO").click()

        # The provider's own page: who is signing in.
        page.wait_for_url(f"{oidc_system['issuer']}/oauth2/authorize?**")
        assert "code_challenge_method=S256" in page.url and "nonce=" in page.url and "state=" in page.url
        page.locator("input[name=sub]").fill(subject)
        page.get_by_role("button", name="Authorize").click()

        # Back on the portal, signed in: their name, and their installation listed by an API call made for them.
        page.wait_for_url(f"{oidc_system['gateway_url']}/installations")
        see(page.get_by_role("heading", name="My installations")).to_be_visible()
        see(page.locator(".account-name")).to_contain_text(person.account["name"])
        see(page.get_by_role("link", name=re.compile(re.escape(plugin["name"]), re.IGNORECASE))).to_be_visible()
        check_accessible(page, "installations after an OIDC sign-in")
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert cookies["mkp_session"]["httpOnly"] and not cookies["mkp_session"]["value"].startswith("eyJ")

        # Signing out ends the portal's session and goes through the provider's end-session page.
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url(f"{oidc_system['issuer']}/oauth2/end_session?**")
        page.goto("/installations")
        page.wait_for_url(re.compile(r"/sign-in\?next=/installations$"))
        see(page.get_by_role("link", name="Sign in with Mock SSO")).to_be_visible()
    finally:
        context.close()
