"""Access control in a real browser (issue 16 item 5): headless Debian Chromium against ``streamlit run`` with an
``access.yaml``.

* an unauthenticated visitor sees only the sign-in form;
* a wrong password is refused;
* a leadership login has no HR page, cannot open it by URL, and the employees download carries no salary;
* an HR login reaches the Incentive modeller and downloads salaries.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from test_browser import (  # the same server and wait helpers as the page tour (tests/apps is on sys.path)
    ARTIFACTS,
    CHROMEDRIVER,
    CHROMIUM,
    _free_port,
    _serve,
    _wait_until_done,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None, reason="Debian chromium / chromium-driver missing"
    ),
]
selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from cx_framework.access import hash_password  # noqa: E402
from cx_framework.synthetic import load_sample  # noqa: E402

AGGREGATE_PAGES = {
    "Data": "Empty templates",
    "Overview": "Shared customer scorecard",
    "Scorecard & drill-down": "Drill-down",
    "Conflicts & SLAs": "Bonus schemes vs customer KPIs",
    "Staffing & service level": "Budget gap",
    "Retention explorer": "Which service-level target pays?",
}


@pytest.fixture(scope="module")
def secured_url():
    folder = Path(tempfile.mkdtemp(prefix="cx_access_"))
    (folder / "access.yaml").write_text(
        "users:\n"
        f"  - {{user: hr.alex, role: hr, password_hash: '{hash_password('hr-pass')}'}}\n"
        f"  - {{user: lead.lee, role: leadership, password_hash: '{hash_password('lead-pass')}'}}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CX_DATA_DIR", "CX_CONFIG_DIR")}
    env["CX_ACCESS_FILE"] = str(folder / "access.yaml")
    with tempfile.TemporaryFile() as log:
        yield from _serve(_free_port(), env, log)


@pytest.fixture
def browser():
    downloads = Path(tempfile.mkdtemp(prefix="cx_dl_"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--window-size=1400,2000",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads  # type: ignore[attr-defined]
    yield driver
    driver.quit()


def _body(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _sign_in(driver, url: str, user: str, password: str) -> None:
    driver.get(url)
    _wait_until_done(driver, ["Sign in", "User name", "Password"])
    driver.find_element(By.CSS_SELECTOR, 'input[aria-label="User name"]').send_keys(user)
    driver.find_element(By.CSS_SELECTOR, 'input[aria-label="Password"]').send_keys(password)
    # the form's button can arrive a moment after its text on a busy machine: wait for it, never index blindly
    WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Sign in"]
    )[0].click()


def _nav_titles(driver) -> list[str]:
    links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
    return [e.text.strip().splitlines()[-1] for e in links if e.text.strip()]


def _open(driver, title: str, text: str) -> None:
    _wait_until_done(driver, ["Signed in as"], timeout=240)
    link = [
        e
        for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
        if e.text.strip() and e.text.strip().splitlines()[-1] == title
    ]
    if not link:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "access_nav_missing.png"))
        raise AssertionError(f"no navigation link {title!r}; links: {_nav_titles(driver)}")
    link[0].click()
    WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith(title)
    )
    _wait_until_done(driver, [text], timeout=240)


def _download(driver, label_start: str) -> str:
    """Click the download button and return the file's text. On a busy machine a click can land while the page
    is still rerunning and start nothing (the button is redrawn): the button is found again and clicked again,
    up to three times, before the download counts as missing."""
    before = set(driver.downloads.iterdir())
    for _attempt in range(3):
        buttons = WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: [
                b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip().startswith(label_start)
            ]
        )
        try:
            driver.execute_script("arguments[0].scrollIntoView();", buttons[0])
            buttons[0].click()
        except StaleElementReferenceException:
            continue
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            new = [p for p in set(driver.downloads.iterdir()) - before if not p.name.endswith(".crdownload")]
            if new:
                return new[0].read_text()
            time.sleep(0.5)
    raise AssertionError(f"download {label_start!r} did not arrive (three clicks)")


def test_visitor_sees_only_sign_in_and_wrong_password_is_refused(secured_url, browser):
    browser.get(secured_url)
    _wait_until_done(browser, ["Sign in", "User name", "Password"])
    body = _body(browser)
    assert not _nav_titles(browser)  # no page navigation before signing in
    assert all(text not in body for text in AGGREGATE_PAGES.values())
    _sign_in(browser, secured_url, "hr.alex", "not-the-password")
    _wait_until_done(browser, ["Sign-in refused", "wrong user name or password"])
    assert not _nav_titles(browser)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "access_refused.png"))


@pytest.mark.slow
def test_leadership_cannot_reach_individual_pay_anywhere(secured_url, browser):
    employees = load_sample(validate=False).tables()["employees"]
    salaries = [f"{s:,.2f}" for s in employees["base_salary"].head(20)]
    _sign_in(browser, secured_url, "lead.lee", "lead-pass")
    _wait_until_done(browser, ["Signed in as", "lead.lee", "leadership"])
    assert "Incentive modeller" not in _nav_titles(browser)
    for title, text in AGGREGATE_PAGES.items():
        _open(browser, title, text)
        body = _body(browser)
        assert not [s for s in salaries if s in body], f"a salary is shown on {title}"
        assert "Annual payout cost" not in body
        if title == "Data":  # the download of the employees table carries no salary column
            csv = _download(browser, "employees.csv")
            assert "employee_id" in csv.splitlines()[0] and "base_salary" not in csv
    # the HR page by its URL: not routable for this role (no page, no numbers)
    browser.get(f"{secured_url}/incentives")
    # a new session: the sign-in form (or, if the session survived, the signed-in sidebar) — whichever renders,
    # however long a busy machine takes to render it
    WebDriverWait(browser, 120, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: "Sign in" in _body(d) or "Signed in as" in _body(d)
    )
    _wait_until_done(
        browser, ["Signed in as"] if "Sign in" not in _body(browser) else ["Sign in"], timeout=120
    )
    assert "Annual payout cost" not in _body(browser)
    browser.save_screenshot(str(ARTIFACTS / "access_leadership.png"))


def test_hr_login_reaches_individual_pay(secured_url, browser):
    _sign_in(browser, secured_url, "hr.alex", "hr-pass")
    _wait_until_done(browser, ["Signed in as", "hr.alex"])
    assert "Incentive modeller" in _nav_titles(browser)
    _open(browser, "Incentive modeller", "Annual payout cost (edited)")
    _open(browser, "Data", "Empty templates")
    csv = _download(browser, "employees.csv")
    assert "base_salary" in csv.splitlines()[0]
    browser.save_screenshot(str(ARTIFACTS / "access_hr.png"))
