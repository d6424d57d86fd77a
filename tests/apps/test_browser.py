"""Real-browser test: start the app with ``streamlit run`` and load every page in headless Debian Chromium.

Asserts each page's key text is visible and no Streamlit exception box is shown, uploads an invalid CSV on the
Data page (readable failure message, no traceback), and saves a full-page screenshot per page under
``tests/apps/artifacts/`` (git-ignored) for a human to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or CHROMEDRIVER is None,
        reason="Debian chromium / chromium-driver not installed (apt-get install chromium chromium-driver)",
    ),
]
selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# url path -> navigation title
TITLES = {
    "overview": "Overview",
    "scorecard": "Scorecard & drill-down",
    "incentives": "Incentive modeller",
    "conflicts": "Conflicts & SLAs",
    "staffing": "Staffing & service level",
    "retention": "Retention explorer",
    "data": "Data",
}
# url path -> text that must be visible once the page has finished computing
PAGES = {
    "overview": [
        "Overview",
        "Shared customer scorecard",
        "Green inside, red outside",
        "Service level: realised, and what the funded FTE would buy",
    ],
    "scorecard": ["Scorecard & drill-down", "Scorecards", "Drill-down"],
    "incentives": [
        "Incentive modeller",
        "Annual payout cost (edited)",
        "Winners and losers",
        "What the rewarded behaviour is worth",
    ],
    "conflicts": [
        "Conflicts & SLAs",
        "Bonus schemes vs customer KPIs",
        "Departmental objectives vs customer KPIs",
    ],
    "staffing": [
        "Staffing & service level",
        "Agents required vs staffed",
        "Budget gap",
        "Service level vs agents",
    ],
    "retention": [
        "Retention explorer",
        "Which service-level target pays?",
        "Monthly service level vs retention",
    ],
    "data": ["Data", "Upload tables", "Empty templates"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url():
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CX_DATA_DIR", "CX_CONFIG_DIR")}
    with tempfile.TemporaryFile() as log:
        yield from _serve(port, env, log)


def _serve(port: int, env: dict[str, str], log):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / "apps" / "streamlit_app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None:
                log.seek(0)
                pytest.fail(f"streamlit exited: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,2000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(1400, 2000)
    yield driver
    driver.quit()


def _wait_until_done(driver, texts: list[str], timeout: float = 150.0) -> None:
    """Wait until every text is visible and the app has stopped running (no spinner / running indicator)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        body = driver.find_element(By.TAG_NAME, "body").text
        running = driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]'
        ) or driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]')
        boxes = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        if boxes:
            raise AssertionError(f"exception box shown: {boxes[0].text[:500]}")
        missing = [t for t in texts if t not in body]
        if not missing and not running:
            time.sleep(0.5)  # let charts finish drawing
            return
        last = f"missing {missing}, running={bool(running)}"
        time.sleep(0.5)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "failed_wait.png"))
    raise AssertionError(
        f"page did not finish within {timeout:.0f} s: {last} (see artifacts/failed_wait.png)"
    )


def _screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script(
        "const m = document.querySelector('[data-testid=\"stMain\"]') || document.body;"
        "return Math.max(document.body.scrollHeight, m.scrollHeight);"
    )
    driver.set_window_size(1400, max(2000, min(int(height) + 200, 12000)))
    time.sleep(0.5)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1400, 2000)
    return path


def _open(driver, app_url: str, page: str) -> None:
    """Go to ``page``: by its sidebar link when the app is already loaded (no reload, same session), else by URL
    (the default page lives at the root URL; its url_path is not routable)."""
    if driver.current_url.startswith(app_url):
        links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNavLink"]')
        target = [link for link in links if link.text.strip() == TITLES[page]]
        if target:
            target[0].click()
            WebDriverWait(driver, 30).until(
                lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith(TITLES[page])
            )
            return
    driver.get(f"{app_url}/" if page == "overview" else f"{app_url}/{page}")
    WebDriverWait(driver, 60).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '[data-testid="stApp"]'))
    )


@pytest.mark.parametrize("page", list(PAGES))
def test_page_renders_in_chromium(app_url, browser, page):
    _open(browser, app_url, page)
    _wait_until_done(browser, PAGES[page])
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), "exception box shown"
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Traceback" not in body and "Page not found" not in body
    path = _screenshot(browser, page)
    assert path.stat().st_size > 10_000
    # pages with tabs: show every other tab too (their content is hidden from the first screenshot)
    tabs = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stTab"]')
    for i, tab in enumerate(tabs[1:], start=2):
        name = tab.text.strip()
        tab.click()
        time.sleep(1.0)
        assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'), (
            f"exception in tab {name}"
        )
        _screenshot(browser, f"{page}_tab{i}")


def test_bad_upload_in_chromium_shows_message_not_traceback(app_url, browser):
    _open(browser, app_url, "data")
    _wait_until_done(browser, PAGES["data"])
    bad = Path(tempfile.mkdtemp(prefix="cx_browser_")) / "customers.csv"
    bad.write_text("customer_id,segment,product,start_date,monthly_revenue\nc1,consumer,bb,2024-01-01,-5\n")
    # one uploader per contract table + the mapping wizard's raw-export uploader; the wizard renders last, so wait
    # for all of them rather than counting the first paint
    WebDriverWait(browser, 30).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, '[data-testid="stFileUploader"]')) >= 8
    )
    uploaders = browser.find_elements(By.CSS_SELECTOR, '[data-testid="stFileUploader"]')
    assert len(uploaders) == 8
    customers = [u for u in uploaders if u.text.startswith("customers")]
    assert len(customers) == 1
    customers[0].find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(bad))
    _wait_until_done(browser, ["customers.csv cannot be used as customers", "monthly_revenue"])
    # the failure table (one row per problem) is drawn with the error
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    assert not browser.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert "Traceback" not in browser.find_element(By.TAG_NAME, "body").text
    _screenshot(browser, "data_bad_upload")
