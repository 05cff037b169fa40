"""The client portal in a real browser: Debian's headless `chromium` driven by Selenium through
Debian's `chromium-driver` (nothing downloaded at run time), against `uvicorn` serving the portal
over the world of tests/portal_helpers.py on loopback.

One user registers, is refused a short password (G-R5), signs in, fails the proof questions ten
times and is locked out (G-R2), is unlocked by an operator, enrols with the right answers, sees
its home page; in December, with penalty, interest, a payment leaving a credit and two new
transactions, it sees the CBSA invoices and applies the credit to the transaction it chooses
(G-R4), pays by card over the limit of the billing cycle (refused, nothing charged) and under it
(D17-R23); it downloads its Statement of Account as PDF (the stored bytes), opens a notice and
switches to French. Each page is saved as a screenshot in docs/portal/ for docs/portal.md.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from carm.portal import PortalConfig, create_app
from core.clock import EASTERN
from statements.pdf import pdf_of_html
from store.ledger import run_collections

from .ledger_helpers import IMPORTER, POLICY, LineSpec, PaymentSpec, declare, pay, txn
from .portal_helpers import A1, FAST, PASSWORD, TOTALS, Clock, build_world
from .test_channels import carm

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "portal"

pytestmark = pytest.mark.slow  # a browser and a server per run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(sqlite_engine, tmp_path):
    """The portal on http://localhost:PORT in a thread of this process, on a copy of the test world."""
    import uvicorn

    build_world(sqlite_engine, tmp_path / "documents")
    config = PortalConfig(documents_dir=tmp_path / "documents", uploads_dir=tmp_path / "uploads", policy=POLICY,
                          now=Clock(datetime(2026, 12, 10, 12, 0, tzinfo=EASTERN)), passwords=FAST)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(sqlite_engine, config), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.1)
    try:
        yield f"http://localhost:{port}", sqlite_engine
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "Debian's chromium and chromium-driver are needed"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False,
                                              "plugins.always_open_pdf_externally": True})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env={**os.environ, "TZ": "America/Toronto"}), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _fill(driver, values: dict[str, str], submit: str = "submit") -> None:
    from selenium.webdriver.common.by import By

    for field, value in values.items():
        box = driver.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    _click(driver, By.ID, submit)


def _click(driver, by: str, value: str) -> None:
    """Click, then wait for the next page to replace this one (never read a page half-gone)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_) -> bool:
        try:
            old.is_enabled()
            return False
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:  # chromium, asked mid-navigation, says "stale" in its own words
            if "does not belong to the document" in str(exc):
                return True
            raise

    old = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(by, value).click()
    WebDriverWait(driver, 20).until(gone)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def _shot(driver, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_enrol_download_a_statement_and_switch_to_french_in_a_browser(served, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, engine = served
    browser.get(f"{base}/signup")
    _fill(browser, {"username": "northern01", "password": "short", "confirm": "short"})
    assert "A password has 8 to 16 valid characters." in _text(browser)
    _shot(browser, "01-register-refused")
    _fill(browser, {"username": "northern01", "password": PASSWORD, "confirm": PASSWORD})
    assert "Your user is registered" in _text(browser)
    _fill(browser, {"username": "northern01", "password": PASSWORD})
    assert browser.current_url == f"{base}/enrol"  # the session cookie (HttpOnly, Secure, SameSite=Strict) was kept
    _shot(browser, "02-enrol-business-number")

    for attempt in range(1, 11):
        _fill(browser, {"bn9": IMPORTER})
        if attempt == 1:
            _shot(browser, "03-enrol-questions")
        answers = {f"answer_{name}": "1.00" for name in ("transaction", "payment", "statement")}
        _fill(browser, answers)
        expected = f"({attempt} of 10 failed attempts)" if attempt < 10 else "locked after 10 failed attempts"
        assert expected in _text(browser), attempt
        browser.get(f"{base}/enrol")
    _fill(browser, {"bn9": IMPORTER})
    assert "locked after 10 failed attempts" in _text(browser)
    _shot(browser, "04-enrol-locked")

    code, out = carm(engine, tmp_path, "portal", "unlock", IMPORTER)
    assert code == 0, out
    browser.get(f"{base}/enrol")
    _fill(browser, {"bn9": IMPORTER})
    question = browser.find_element(By.XPATH, "//label[input[@id='answer_transaction']]").text
    asked_txn = re.search(r"transaction (\d{14})", question).group(1)
    _fill(browser, {"answer_transaction": TOTALS[asked_txn], "answer_payment": "400.00", "answer_statement": "705.00"})
    assert "you are its business account manager" in _text(browser)

    browser.get(f"{base}/")
    home = _text(browser)
    assert re.search(rf"{A1} NORTHERN IMPORTS LTD \$305\.00 \$305\.00 \$0\.00", home), home

    # December: collections on the 2nd charge A1 the 200.00 penalty and 0.07 of interest (305.00 unpaid
    # since the 1st, 8 % a year for a day), an 800.00 payment on the 3rd settles 505.07 and leaves
    # 294.93 of credit, then transactions 3 (60.00) and 4 (50.00) are declared: the balance is
    # 505.07 + 110.00 − 800.00 = −184.93.
    with engine.begin() as conn:
        run_collections(conn, date(2026, 12, 2), policy=POLICY, at=datetime(2026, 12, 2, 7, 0, tzinfo=EASTERN))
    pay(engine, PaymentSpec("E2", IMPORTER, [LineSpec(A1, 800_00)], effective=date(2026, 12, 3)),
        received_at=datetime(2026, 12, 3, 10, 0, tzinfo=EASTERN), control=2)
    txn3, txn4 = txn("12001", 3), txn("12001", 4)
    declare(engine,
            dict(transaction_number=txn3, rm15=A1, asec="12001", release_date="2026-12-04", accounting_date="2026-12-04", duty="60.00"),
            dict(transaction_number=txn4, rm15=A1, asec="12001", release_date="2026-12-05", accounting_date="2026-12-05", duty="50.00"))
    browser.get(f"{base}/")
    home = _text(browser)
    assert re.search(rf"{A1} NORTHERN IMPORTS LTD \(\$184\.93\) \$0\.00 \$294\.93", home), home
    assert "Unapplied credit" in home
    _shot(browser, "05-home")
    browser.get(f"{base}/invoices")
    invoices = _text(browser)  # settled by the 800.00 payment: nothing of them still owed
    assert f"{A1} Penalty Late-payment penalty December 2, 2026 $200.00 $0.00" in invoices, invoices
    _shot(browser, "06-invoices")
    browser.get(f"{base}/accounts/{A1}")
    _shot(browser, "07-account-credit")
    browser.find_element(By.XPATH, f"//label[contains(., '{txn4}')]/input").click()
    _click(browser, By.ID, "apply")
    applied = _text(browser)
    assert "$50.00 of the credit applied." in applied and "($244.93)" in applied, applied
    _shot(browser, "08-credit-applied")
    # by card (D17-R23, L27, O21): 5,000.00 is over the 4,999.99 of the billing cycle, refused before
    # the card is charged; 100.00 is authorised and applied: −184.93 − 100.00 = −284.93
    _fill(browser, {"card-amount": "5000.00", "card-token": "tok_visa"}, submit="card-pay")
    over = _text(browser)
    assert "Payment refused, the card was not charged" in over and "4999.99" in over and "($184.93)" in over, over
    _shot(browser, "08a-card-over-the-limit")
    _fill(browser, {"card-amount": "100.00", "card-token": "tok_visa"}, submit="card-pay")
    paid = _text(browser)
    assert "Payment of $100.00 authorised (AUTH-" in paid and "($284.93)" in paid, paid
    _shot(browser, "08b-card-paid")
    _click(browser, By.ID, "history")
    _shot(browser, "09-history")

    browser.get(f"{base}/documents")
    _shot(browser, "10-documents")
    browser.find_element(By.CLASS_NAME, "download-pdf").click()
    name = f"{IMPORTER}-SOA-20261125-0001.pdf"
    target = browser.downloads / name
    deadline = time.monotonic() + 30
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    # the run keeps the statement's HTML; its PDF is drawn when first asked for (S12), from that HTML
    stored = tmp_path / "documents" / "SOA" / "2026-11" / name.replace(".pdf", ".html")
    assert not stored.with_suffix(".pdf").exists()
    downloaded = target.read_bytes()
    assert downloaded.startswith(b"%PDF-") and downloaded == pdf_of_html(stored.read_bytes(), paper=POLICY.paper)

    browser.get(f"{base}/notices")
    _shot(browser, "11-notices")
    _click(browser, By.CSS_SELECTOR, "#notices a")
    notice = _text(browser)  # the newest: the card's 100.00 — transaction 3's 60.00 (4 was settled by the credit), 40.00 left
    assert "Applied to amounts owing: $60.00" in notice and "Left on the account as a credit: $40.00" in notice, notice
    _shot(browser, "12-notice")

    browser.get(f"{base}/")
    _click(browser, By.ID, "language")
    french = _text(browser)
    assert "Comptes de programme" in french and "(284,93 $)" in french.replace("\xa0", " ") and browser.current_url == f"{base}/"
    _shot(browser, "13-home-french")
    browser.get(f"{base}/settings")
    _shot(browser, "14-settings-french")
    browser.get(f"{base}/upload")
    _shot(browser, "15-upload-french")
