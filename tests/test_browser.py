"""The index page in a real browser: headless Chromium loads ``/`` from a real ``feeds serve``,
follows the subscribe links and receives the feeds.

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium`` package (the test extra);
without them the tests skip, saying what is missing. The driver is the one the system installed:
selenium is never left to fetch one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CorpusWriter
from tests.test_serve_process import Server, serving
from tests.test_web import MEDIA_TYPES, feed_urls, story, url_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
TIMEOUT = 20
OTHER_ORIGIN = "feeds-elsewhere.test"
"""A second host name, mapped to 127.0.0.1 inside the browser, for a cross-origin request."""

if (CHROMIUM is None or CHROMEDRIVER is None) and os.environ.get("CI"):
    pytest.fail("CI installs chromium and chromium-driver (.ci/run), yet they are missing", pytrace=False)
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def server(write_corpus: CorpusWriter, tmp_path: Path) -> Iterator[Server]:
    corpus = write_corpus(
        {
            "a.txt": story(1, topics=["AI"], heat=80),
            "b.txt": story(2, topics=["AI", "Space & Time"], heat=20),
            "c.txt": story(3, topics=["Space & Time"], heat=60),
        }
    )
    with serving([str(corpus)], cwd=tmp_path) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--host-resolver-rules=MAP {OTHER_ORIGIN} 127.0.0.1",
    ):
        options.add_argument(argument)
    service = Service(CHROMEDRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        yield driver
    finally:
        driver.quit()


def at(url: str) -> Callable[[Any], bool]:
    """A wait condition: the browser shows ``url``."""

    def arrived(driver: Any) -> bool:
        return bool(driver.current_url == url)

    return arrived


def shown_text(driver: Any) -> str:
    """What the browser shows of a document it displays as text."""
    text: str = driver.execute_script("return document.body ? document.body.innerText : ''")
    return text


def test_the_index_page_loads_and_its_subscribe_links_give_the_feeds(server: Server, browser: Any) -> None:
    browser.get(server.base)
    assert browser.title == "feeds"
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    names = [row.find_element(By.CSS_SELECTOR, "td").text for row in rows]
    assert names[:3] == ["All topics", "AI", "Space & Time"]

    for label, fmt in (("RSS", "rss"), ("Atom", "atom"), ("JSON Feed", "json")):
        browser.get(server.base)
        row = browser.find_elements(By.CSS_SELECTOR, "tbody tr")[names.index("Space & Time")]
        link = row.find_element(By.LINK_TEXT, label)
        link_href: str = link.get_attribute("href")
        assert link_href == f"{server.base}feeds/space-time.{fmt}"
        link.click()
        WebDriverWait(browser, TIMEOUT).until(at(link_href))
        WebDriverWait(browser, TIMEOUT).until(lambda driver: shown_text(driver).strip())
        assert feed_urls(fmt, shown_text(browser).encode()) == [url_of(3), url_of(2)], label


def test_every_autodiscovery_link_of_the_page_answers_with_its_feed(server: Server, browser: Any) -> None:
    browser.get(server.base)
    results = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const links = [...document.querySelectorAll('link[rel="alternate"]')];
        Promise.all(links.map(async (link) => {
            const response = await fetch(link.href, {cache: "no-store"});
            return [link.href, link.type, response.status, response.headers.get("content-type"),
                    await response.text()];
        })).then(done, (error) => done(String(error)));
        """
    )
    assert isinstance(results, list), results
    assert len(results) == 6 * 3  # all, AI, Space & Time, and each again for "hot"
    for href, declared, status, content_type, body in results:
        assert status == 200, href
        assert content_type == f"{declared}; charset=utf-8"
        fmt = href.rpartition(".")[2]
        assert MEDIA_TYPES[fmt] == declared
        feed_urls(fmt, body.encode())


def test_a_page_of_another_origin_may_read_a_feed(server: Server, browser: Any) -> None:
    """Web-based readers fetch feeds cross-origin: CORS lets them."""
    browser.get(server.base)
    other = f"http://{OTHER_ORIGIN}:{server.port}/feeds/ai.json"
    result = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {mode: "cors", cache: "no-store"})
            .then(async (response) => done([response.status, await response.text()]),
                  (error) => done(String(error)));
        """,
        other,
    )
    assert isinstance(result, list), result
    status, body = result
    assert status == 200
    assert feed_urls("json", body.encode()) == [url_of(2), url_of(1)]
