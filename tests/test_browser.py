"""The pages in a real browser: headless Chromium against a real ``feeds serve``.

The index page, and every feed's page of the seeds and of the hostile corpus, load with no
console error and no Content-Security-Policy violation, run no script of the corpus (not
even with the policy switched off), show its markup as text, pass axe-core in the light and
the dark colour scheme, fit a phone's width, load only the items' own images, and link to
feeds that a web-based reader can fetch. A browser that opens a feed's URL is shown its page;
``fetch()`` of the same URL gets the feed, from the browser's cache too.

Needs Debian's ``chromium``, ``chromium-driver`` and ``openssl``, the ``selenium`` package
(the test extra) and axe-core (``python -m tests.axe``); without them the tests skip, saying
what is missing, except under CI, which installs them all (.ci/run) and fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lxml import html

from tests import axe, chromium, hostile
from tests.chromium import OTHER_ORIGIN, TIMEOUT, ImageServer, image_server, viewport
from tests.conftest import ROOT, SEEDS, CorpusWriter
from tests.test_serve_process import Server, serving
from tests.test_web import MEDIA_TYPES, feed_urls, story, url_of

_MISSING = chromium.missing()
if _MISSING and os.environ.get("CI"):
    pytest.fail(f"CI installs what the browser tests need (.ci/run), yet: {_MISSING}", pytrace=False)
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PHONE, DESKTOP = 375, 1280
"""The widths, in CSS pixels, at which every page must be readable."""


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImageServer]:
    with image_server(tmp_path_factory.mktemp("images")) as server:
        yield server


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, images: ImageServer) -> Iterator[Any]:
    with chromium.chromium(tmp_path_factory.mktemp("profile"), images) as driver:
        yield driver


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


@pytest.fixture(scope="module")
def checker(tmp_path_factory: pytest.TempPathFactory, images: ImageServer) -> Iterator[Any]:
    """A browser with axe-core in every document it loads."""
    if not axe.SCRIPT.is_file():
        message = f"axe-core {axe.VERSION} is not installed: python -m tests.axe installs it"
        if os.environ.get("CI"):
            pytest.fail(f"CI installs axe-core (.ci/run), yet {message}", pytrace=False)
        pytest.skip(message)
    with chromium.chromium(tmp_path_factory.mktemp("profile"), images) as driver:
        source = axe.SCRIPT.read_text(encoding="utf-8")
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        yield driver


def at(url: str) -> Callable[[Any], bool]:
    """A wait condition: the browser shows ``url``, loaded."""

    def arrived(driver: Any) -> bool:
        return bool(
            driver.current_url == url and driver.execute_script("return document.readyState") == "complete"
        )

    return arrived


PLAIN = "/feeds/all.rss?limit=0"
"""A plain-text answer, even to a browser's navigation: 400, a bad limit."""


def elsewhere(server: Server) -> str:
    """A document of another origin, as a web-based reader's page is: no policy of ours
    (the server's plain-text answer to a bad query, under a second host name)."""
    return f"http://{OTHER_ORIGIN}:{server.port}{PLAIN}"


def fetch_all(driver: Any, server: Server, urls: list[str]) -> list[Any]:
    """``[url, status, content type, body]`` of each URL as ``fetch()`` gets it from
    :func:`elsewhere`."""
    driver.get(elsewhere(server))
    results: list[Any] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        Promise.all(arguments[0].map(async (url) => {
            const response = await fetch(url, {cache: "no-store"});
            return [url, response.status, response.headers.get("content-type"), await response.text()];
        })).then(done, (error) => done(String(error)));
        """,
        urls,
    )
    assert isinstance(results, list), results
    return results


def drain_log(driver: Any) -> list[dict[str, Any]]:
    """The console entries since the last call."""
    entries: list[dict[str, Any]] = driver.get_log("browser")
    return entries


# -- the index page and navigation ---------------------------------------------------------


def test_the_index_page_links_each_feed_to_its_page(server: Server, browser: Any) -> None:
    browser.get(server.base)
    assert browser.title == "feeds"
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    names = [row.find_element(By.CSS_SELECTOR, "td").text for row in rows]
    assert names[:3] == ["All topics", "AI", "Space & Time"]
    rows[names.index("Space & Time")].find_element(By.LINK_TEXT, "Space & Time").click()
    WebDriverWait(browser, TIMEOUT).until(at(f"{server.base}feeds/space-time.html"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "feeds: Space & Time"
    links = browser.find_elements(By.CSS_SELECTOR, "h3 a")
    assert [link.get_attribute("href") for link in links] == [url_of(3), url_of(2)]


@pytest.mark.parametrize(("label", "fmt"), [("RSS", "rss"), ("Atom", "atom"), ("JSON Feed", "json")])
def test_a_browser_that_opens_a_feed_is_shown_its_page_and_fetch_gets_the_feed(
    server: Server, browser: Any, label: str, fmt: str
) -> None:
    """Opening a subscribe link shows the page, not XML; ``fetch()`` of the very URL, from
    the browser's cache or not, gets the feed: Vary keeps the two apart."""
    browser.get(server.base)
    row = browser.find_elements(By.CSS_SELECTOR, "tbody tr")[2]
    link = row.find_element(By.LINK_TEXT, label)
    href: str = link.get_attribute("href")
    assert href == f"{server.base}feeds/space-time.{fmt}"
    link.click()
    WebDriverWait(browser, TIMEOUT).until(at(href))
    assert browser.execute_script("return document.contentType") == "text/html"
    assert browser.find_element(By.TAG_NAME, "h1").text == "feeds: Space & Time"
    # A document of the same site without the pages' policy (which forbids fetch()): the
    # browser's cache is the one the navigation filled.
    browser.get(f"{server.base}{PLAIN.lstrip('/')}")
    answers = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        Promise.all(["default", "force-cache"].map(async (cache) => {
            const response = await fetch(arguments[0], {cache});
            return [response.headers.get("content-type"), await response.text()];
        })).then(done, (error) => done(String(error)));
        """,
        href,
    )
    assert isinstance(answers, list), answers
    for content_type, body in answers:
        assert content_type == f"{MEDIA_TYPES[fmt]}; charset=utf-8"
        assert feed_urls(fmt, body.encode()) == [url_of(3), url_of(2)]


def test_every_autodiscovery_link_of_the_index_answers_with_its_feed(server: Server, browser: Any) -> None:
    browser.get(server.base)
    links = [
        (link.get_attribute("href"), link.get_attribute("type"))
        for link in browser.find_elements(By.CSS_SELECTOR, 'link[rel="alternate"]')
    ]
    # One set: the feed of every item in its three formats, and the OPML file of every feed.
    assert [href.removeprefix(server.base) for href, _ in links] == [
        "feeds/all.rss",
        "feeds/all.atom",
        "feeds/all.json",
        "opml.xml",
    ]
    declared = dict(links)
    for href, status, content_type, body in fetch_all(browser, server, [href for href, _ in links]):
        assert status == 200, href
        assert content_type == f"{declared[href]}; charset=utf-8"
        if href.endswith("opml.xml"):
            assert len(html.fromstring(body.encode()).xpath("//outline")) == 6  # every feed
            continue
        fmt = href.rpartition(".")[2]
        assert MEDIA_TYPES[fmt] == declared[href]
        feed_urls(fmt, body.encode())


def test_a_browser_is_shown_a_page_for_a_missing_address_and_fetch_a_line(
    server: Server, checker: Any
) -> None:
    browser = checker
    missing = f"{server.base}feeds/no-such-topic.rss"
    drain_log(browser)
    browser.get(missing)
    WebDriverWait(browser, TIMEOUT).until(at(missing))
    found = browser.execute_script(INSPECT)
    assert found["bad"] == [] and found["tags"] == [] and found["watch"] == {"violations": [], "calls": []}
    assert browser.execute_async_script(AXE, None) == []
    viewport(browser, PHONE)
    assert browser.execute_script(INSPECT)["overflow"] <= 0 and browser.execute_script(BROKEN_WORDS) == []
    viewport(browser, DESKTOP)
    log = [entry["message"] for entry in drain_log(browser) if entry["level"] in {"SEVERE", "WARNING"}]
    status = "the server responded with a status of 404 (NOT FOUND)"
    assert log == [f"{missing} - Failed to load resource: {status}"]
    assert browser.title.startswith("Not found")
    home = browser.find_element(By.CSS_SELECTOR, "main a")
    assert home.get_attribute("href") == server.base
    assert len(found["styles"]) == 1
    status, headers, body = server.fetch("/feeds/no-such-topic.rss")  # a feed reader
    assert (status, headers["Content-Type"]) == (404, "text/plain; charset=utf-8")
    assert body == b"No feed at /feeds/no-such-topic.rss. The list of feeds is at /.\n"


def test_a_page_of_another_origin_may_read_a_feed(server: Server, browser: Any) -> None:
    """Web-based readers fetch feeds cross-origin: CORS lets them."""
    browser.get(elsewhere(server))
    other = f"{server.base}feeds/ai.json"
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


# -- every page, every check ---------------------------------------------------------------

INSPECT = """
const bad = [];
for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
        const name = attribute.name.toLowerCase();
        if (name.startsWith("on") || name === "style" || name === "srcdoc") {
            bad.push(`${element.tagName} ${name}`);
        }
        if (["href", "src", "action", "formaction", "poster", "data"].includes(name)
                && /^\\s*(javascript|vbscript|data):/i.test(attribute.value)
                && !(element.tagName === "LINK" && attribute.value === "data:,")) {
            bad.push(`${element.tagName} ${name}=${attribute.value.slice(0, 40)}`);
        }
    }
}
const tags = ["script", "iframe", "frame", "object", "embed", "base", "form", "svg", "math", "template"];
return {
    bad,
    tags: tags.filter((tag) => document.getElementsByTagName(tag).length),
    styles: [...document.querySelectorAll("style")].map((style) => style.textContent),
    watch: window.__feeds,
    resources: performance.getEntriesByType("resource").map((entry) => entry.name),
    images: [...document.images].map((image) => ({
        src: image.getAttribute("src"), url: image.currentSrc, alt: image.getAttribute("alt"),
        width: image.getAttribute("width"), height: image.getAttribute("height"),
        lazy: image.loading, loaded: image.complete && image.naturalWidth > 0,
        picture: image.classList.contains("picture"), top: image.getBoundingClientRect().top,
    })),
    height: innerHeight,
    items: [...document.querySelectorAll("ol.items > li h3 a")].map(
        (a) => [a.getAttribute("href"), a.textContent]),
    subscribe: [...document.querySelectorAll("ul.subscribe li")].map((li) => {
        const a = li.querySelector("a");
        return [a.href, a.type, li.querySelector("code").textContent];
    }),
    alternates: [...document.querySelectorAll('link[rel="alternate"]')].map((link) => [link.href, link.type]),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
};
"""

IN_VIEW_LOADED = (
    "return [...document.images].every((i) => i.complete || i.getBoundingClientRect().top >= innerHeight)"
)

AXE = """
const done = arguments[arguments.length - 1];
const options = {resultTypes: ["violations"]};
if (arguments[0]) options.runOnly = arguments[0];
axe.run(document, options).then(
    (results) => done(results.violations.map((v) =>
        `${v.id} (${v.impact}): ${v.nodes.length} nodes, first ${v.nodes[0].html.slice(0, 200)}`)),
    (error) => done([`axe failed: ${error}`]));
"""


BROKEN_WORDS = """
const broken = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(".url")) continue;  // an address to copy may break anywhere
    const words = /[^\\s\\-\u2010-\u2014/]+/g;  // a hyphen, a dash or a slash may end a line
    let word;
    while ((word = words.exec(node.textContent))) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map((box) => Math.round(box.top)));
        if (lines.size > 1) broken.push(word[0]);
    }
}
return broken;
"""
"""The words of the page shown on more than one line (a word broken in two)."""

LAYOUT_RULES = ["color-contrast", "link-in-text-block", "scrollable-region-focusable", "target-size"]
"""The axe-core rules whose outcome depends on colours or layout."""


@dataclass
class Visit:
    """What one page showed and did."""

    url: str
    found: dict[str, Any]
    """What :data:`INSPECT` returned."""


def visit(driver: Any, url: str, *, whole_words: bool = True) -> Visit:
    """Load ``url`` and hold it to every rule that does not depend on what it should show:
    no console error, no policy violation, nothing script-capable, axe-core clean in both
    colour schemes, no sideways scrolling on a phone (nor, if ``whole_words``, a word broken
    across two lines), only its images loaded, and loaded."""
    drain_log(driver)
    viewport(driver, DESKTOP)
    driver.get(url)
    WebDriverWait(driver, TIMEOUT).until(at(url))
    # Lazy images in view load after the load event: wait for them.
    WebDriverWait(driver, TIMEOUT).until(lambda d: d.execute_script(IN_VIEW_LOADED))
    found = driver.execute_script(INSPECT)
    assert found["bad"] == [] and found["tags"] == [], url
    assert found["watch"] == {"violations": [], "calls": []}, url
    assert len(found["styles"]) == 1, url  # the page's own, allowed by its hash
    shown = {image["url"] for image in found["images"]}
    assert set(found["resources"]) <= shown, f"{url} loaded what is not one of its images"
    for image in found["images"]:
        assert image["alt"] is not None and image["lazy"] == "lazy", image
        if image["top"] < found["height"]:
            assert image["loaded"], json.dumps(image)  # in view: the policy lets the items' images in

    # Every rule once; then those a colour scheme or a width can change.
    assert driver.execute_async_script(AXE, None) == [], (url, "light")
    viewport(driver, DESKTOP, dark=True)
    assert driver.execute_async_script(AXE, LAYOUT_RULES) == [], (url, "dark")
    viewport(driver, PHONE)
    assert driver.execute_script(INSPECT)["overflow"] <= 0, f"{url} scrolls sideways on a phone"
    if whole_words:
        assert driver.execute_script(BROKEN_WORDS) == [], f"{url} breaks words on a phone"
    assert driver.execute_async_script(AXE, LAYOUT_RULES) == [], (url, "phone")
    viewport(driver, DESKTOP)
    log = drain_log(driver)
    assert [entry for entry in log if entry["level"] in {"SEVERE", "WARNING"}] == [], (url, log)
    return Visit(url, found)


def check_site(driver: Any, server: Server, *, whole_words: bool = True) -> list[Visit]:
    """Visit the index page and every page it links to; check each page's items against
    its JSON Feed and every subscribe link against the feed the server sends."""
    index = html.fromstring(server.fetch("/")[2])
    pages = [server.base + href for href in index.xpath("//tbody/tr/td[1]/a/@href")]
    assert pages and all(page.endswith(".html") for page in pages)
    visits = [visit(driver, url, whole_words=whole_words) for url in [server.base, *pages]]

    wanted: dict[str, str] = {}  # URL: the media type the page declares for it
    for page in visits[1:]:
        found = page.found
        stem = page.url.removesuffix(".html")
        feeds = {f"{stem}.{fmt}": media for fmt, media in MEDIA_TYPES.items()}
        # Each subscribe link, as a link, as the address to copy and as autodiscovery.
        assert {href: media for href, media, _ in found["subscribe"]} == feeds, page.url
        assert [href for href, _, copy in found["subscribe"] if href != copy] == [], page.url
        assert dict(found["alternates"]) == feeds, page.url
        wanted.update(feeds)
        # The page's items are its feed's, in order: links and titles, exactly.
        document = json.loads(server.fetch(f"{stem.removeprefix(server.base[:-1])}.json")[2])
        expected = [[item["url"], _as_html_text(item["title"])] for item in document["items"]]
        assert found["items"] == expected, page.url
    for url, status, content_type, body in fetch_all(driver, server, sorted(wanted)):
        assert status == 200, url
        assert content_type == f"{wanted[url]}; charset=utf-8", url
        assert body.encode() == server.fetch(url.removeprefix(server.base[:-1]))[2], url
    return visits


def _as_html_text(text: str) -> str:
    """``text`` as a browser's DOM holds it once parsed from HTML: line breaks normalised."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def test_every_page_of_the_seeds(checker: Any, tmp_path: Path) -> None:
    with serving([str(SEEDS)], cwd=tmp_path) as server:
        visits = check_site(checker, server)
    assert len(visits) == 1 + 6
    shown = visits[[visit.url for visit in visits].index(f"{server.base}feeds/all.html")].found
    assert [image["picture"] for image in shown["images"]].count(True) >= 1


def test_every_page_of_a_story_told_four_times(checker: Any, tmp_path: Path) -> None:
    """The seeds with each telling published: one item, its other tellings listed."""
    root = tmp_path / "seeds"
    root.mkdir()
    for path in SEEDS.iterdir():
        text = path.read_text(encoding="utf-8").replace("\npublished: false\n", "\npublished: true\n")
        (root / path.name).write_text(text, encoding="utf-8")
    with serving([str(root)], cwd=tmp_path) as server:
        visits = check_site(checker, server)
        checker.get(f"{server.base}feeds/ai.html")
        WebDriverWait(checker, TIMEOUT).until(at(f"{server.base}feeds/ai.html"))
        links = checker.execute_script(
            "return [...document.querySelectorAll('.coverage li')].map(li => li.textContent)"
        )
    assert all(len(visit.found["items"]) == 1 for visit in visits[1:])
    assert links == [
        "Netflix stirs fears by using AI-assisted background art in short anime film (Ars Technica)",
        "Netflix Taps AI to Generate Anime Backgrounds Rather Than Hire Humans (PC Magazine)",
        "Netflix has found an exciting new way to piss everyone off with AI art (BGR)",
    ]


@pytest.fixture(scope="module")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_hostile import GOOD, MAIN

    root = tmp_path_factory.mktemp("hostile") / "corpus"
    hostile.write(root, MAIN)
    for name, text in GOOD.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
def test_every_page_of_the_hostile_corpus(checker: Any, hostile_corpus: Path, tmp_path: Path) -> None:
    # Each file's item as it is (as test_hostile.py exports it): every hostile value on a page.
    with serving([str(hostile_corpus), "--no-collapse"], cwd=tmp_path) as server:
        visits = check_site(checker, server, whole_words=False)  # words longer than a phone is wide
    assert len(visits) > 100
    titles = [title for visit in visits[1:] for _, title in visit.found["items"]]
    # The markup of the corpus shows as text (check_site compared every title exactly).
    for payload in (hostile.MARKUP, hostile.CDATA, hostile.BIDI):
        assert any(payload in title for title in titles), payload


@pytest.mark.slow
def test_no_script_of_the_hostile_corpus_runs_even_with_the_policy_off(
    browser: Any, hostile_corpus: Path, tmp_path: Path
) -> None:
    """The policy is the second line: with it switched off, escaping alone keeps every
    script, handler and ``javascript:`` link of the corpus inert."""
    browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": True})
    try:
        with serving([str(hostile_corpus), "--no-collapse"], cwd=tmp_path) as server:
            index = html.fromstring(server.fetch("/")[2])
            pages = [server.base + href for href in index.xpath("//tbody/tr/td[1]/a/@href")]
            for url in [server.base, *pages]:
                browser.get(url)
                WebDriverWait(browser, TIMEOUT).until(at(url))
                found = browser.execute_script(INSPECT)
                assert found["watch"]["calls"] == [] and found["bad"] == [] and found["tags"] == [], url
    finally:
        browser.execute_cdp_cmd("Page.setBypassCSP", {"enabled": False})


def test_the_screenshot_command_writes_a_feed_page(tmp_path: Path) -> None:
    target = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "tests.screenshot", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == DESKTOP and height > 600
