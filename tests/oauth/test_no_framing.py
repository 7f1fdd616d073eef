"""Every HTML page the server renders (the authorization pages: login, consent, error)
refuses to be framed, so a hostile site cannot overlay the login form or the Allow button
(clickjacking): ``Content-Security-Policy: frame-ancestors 'none'`` for browsers that know
it, ``X-Frame-Options: DENY`` for older ones."""

from __future__ import annotations

from pathlib import Path

import httpx

from cmpapi.server.oauth import pages
from tests.oauth.flow import AUTH, Browser
from tests.support.world import PASSWORD


def assert_not_framable(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    csp = [part.strip() for part in response.headers["content-security-policy"].split(";")]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


def test_the_server_renders_only_the_authorization_pages() -> None:
    """A new template is a new page: add it to the walk below."""
    templates = Path(pages.__file__).with_name("templates")
    assert {p.name for p in templates.iterdir()} == {
        "base.html",
        "login.html",
        "consent.html",
        "error.html",
    }


def test_no_authorization_page_can_be_framed(browser: Browser) -> None:
    html: list[httpx.Response] = []

    def keep(response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/html"):
            html.append(response)

    browser.http.event_hooks["response"].append(keep)
    params = browser.params()
    login = browser.http.get(AUTH, params=params)
    assert 'name="password"' in login.text
    wrong = browser.submit(login, login="admin@example.com", password="wrong")
    assert "Wrong username, email or password." in wrong.text
    consent = browser.consent_page(params, password=PASSWORD)
    forged = browser.submit(consent, action="allow", csrf_token="forged")
    assert forged.status_code == 403  # the error page
    unknown_app = browser.http.get(AUTH, params=browser.params(client_id="no-such-client"))
    assert unknown_app.status_code == 400  # the error page
    browser.http.cookies.clear()
    expired = browser.submit(login, login="admin@example.com", password=PASSWORD)
    assert "The form expired" in expired.text

    # login, wrong password, login (twice, from the consent walk), consent, forged form,
    # unknown app, form expired
    assert [r.status_code for r in html] == [200, 200, 200, 200, 200, 403, 400, 200]
    for response in html:
        assert_not_framable(response)
