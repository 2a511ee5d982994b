"""The edge functions of docs/cdn/, run in a real JavaScript engine (Chromium's): in front of a
store that an export wrote, every address gives what `feeds serve` gives, a browser's
navigation to a feed included, and the export's hidden files are not there."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest

from feeds.config import Settings
from feeds.export import MANIFEST, export_site
from feeds.web import create_app
from tests import chromium
from tests.conftest import NOW, ROOT
from tests.test_store import BASE, write_items

_MISSING = chromium.missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)
pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")

CDN = ROOT / "docs" / "cdn"
DESTS = ("document", "empty", "image", None)
"""Sec-Fetch-Dest of a browser's navigation, of fetch(), of an <img>, and of a feed reader."""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium.image_server(tmp_path_factory.mktemp("images")) as images:
        with chromium.chromium(tmp_path_factory.mktemp("profile"), images) as driver:
            driver.get("about:blank")
            yield driver


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, bytes]]:
    """A corpus with archives, and the files of its export (as a store holds them)."""
    root = tmp_path_factory.mktemp("site")
    write_items(root / "corpus", 12)
    settings = Settings(corpus=root / "corpus", index="memory", base_url=BASE, feed_limit=4, archive_size=3)
    export_site(settings, root / "out", now=NOW)
    files = {
        p.relative_to(root / "out").as_posix(): p.read_bytes()
        for p in (root / "out").rglob("*")
        if p.is_file()
    }
    assert MANIFEST in files and any("/.open-" in name for name in files)
    return settings, files


def addresses(files: dict[str, bytes]) -> list[str]:
    named = ["/" if name == "index.html" else f"/{name}" for name in files]
    return sorted({*named, "/feeds/no-such-topic.rss", "/no-such-page.html", "/feeds/all/archive/x.rss"})


def served(settings: Settings, dest: str | None, paths: list[str]) -> dict[str, tuple[int, bytes]]:
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    answers = {}
    for path in paths:
        response = client.get(path, headers={"Sec-Fetch-Dest": dest} if dest else {})
        answers[path] = (response.status_code, response.data if response.status_code == 200 else b"")
    return answers


def from_store(files: dict[str, bytes], key: str | None) -> tuple[int, bytes]:
    if key is None or key not in files:
        return 404, b""
    return 200, files[key]


def test_the_cloudfront_function_gives_every_address_what_the_server_gives(
    browser: Any, site: tuple[Settings, dict[str, bytes]]
) -> None:
    settings, files = site
    source = (CDN / "cloudfront-function.js").read_text()
    paths = addresses(files)
    for dest in DESTS:
        events = [
            {"request": {"uri": path, "headers": {"sec-fetch-dest": {"value": dest}} if dest else {}}}
            for path in paths
        ]
        results = browser.execute_script(source + "\nreturn arguments[0].map(handler);", events)
        rewritten = {
            path: None if "statusCode" in result else result["uri"].lstrip("/")
            for path, result in zip(paths, results, strict=True)
        }
        assert served(settings, dest, paths) == {
            path: from_store(files, key) for path, key in rewritten.items()
        }, dest


def test_the_cloudflare_worker_gives_every_address_what_the_server_gives(
    browser: Any, site: tuple[Settings, dict[str, bytes]]
) -> None:
    settings, files = site
    source = (CDN / "cloudflare-worker.js").read_text()
    origin = re.search(r'const ORIGIN = "([^"]+)"', source)
    assert origin is not None
    module = "data:text/javascript;base64," + base64.b64encode(source.encode()).decode()
    paths = addresses(files)
    # What the worker asks the origin for (its fetch() recorded) for a request as Cloudflare
    # hands it over: a page may not set Sec-Fetch-Dest on a Request of its own, so its headers
    # are a stand-in with the get() of Headers.
    script = """
        const [module, paths, dest, done] = arguments;
        const fetched = [];
        globalThis.fetch = async (url, init) => {
            fetched.push([url, init.method]);
            return new Response("origin");
        };
        const request = (path, method, dest) => ({
            url: "https://feeds.example" + path,
            method,
            headers: {get: (name) => (name.toLowerCase() === "sec-fetch-dest" ? dest : null)},
        });
        import(module).then(async (worker) => {
            const answers = [];
            for (const path of paths) {
                const before = fetched.length;
                const response = await worker.default.fetch(request(path, "GET", dest));
                answers.push(fetched.length > before ? fetched[fetched.length - 1] : response.status);
            }
            const posted = await worker.default.fetch(request("/", "POST", null));
            done({answers, posted: posted.status});
        }, (error) => done({error: String(error)}));
    """
    for dest in DESTS:
        result = browser.execute_async_script(script, module, paths, dest)
        assert "error" not in result, result
        assert result["posted"] == 405
        keys: dict[str, str | None] = {}
        for path, answer in zip(paths, result["answers"], strict=True):
            if answer == 404:
                keys[path] = None
            else:
                url, method = answer
                assert url.startswith(origin[1] + "/") and method == "GET", answer
                keys[path] = url[len(origin[1]) + 1 :]
        assert served(settings, dest, paths) == {
            path: from_store(files, key) for path, key in keys.items()
        }, dest


def test_the_documented_edge_functions_are_the_tested_ones() -> None:
    text = (ROOT / "docs" / "deployment.md").read_text()
    for name in ("cloudfront-function.js", "cloudflare-worker.js"):
        assert (CDN / name).read_text().strip() in text, name
    assert "Sec-Fetch-Dest" in text
