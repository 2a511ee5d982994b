"""An export served by nginx with docs/nginx.conf: the server's addresses, media types and bytes.

Starts Debian's nginx as our own process (not the system service) on a free loopback port,
with its pid, logs and temporary folders in tmp_path.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from feeds.config import Settings
from feeds.export import MANIFEST, export_site
from feeds.pages import HEADER_POLICY
from feeds.web import create_app
from tests.conftest import NOW, ROOT
from tests.test_export import served_paths
from tests.test_negotiation import check_matrix

CONF = ROOT / "docs" / "nginx.conf"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
MIME_TYPES = Path("/etc/nginx/mime.types")

if NGINX is None and os.environ.get("CI"):
    pytest.fail("CI installs nginx (.ci/run), yet it is missing", pytrace=False)
pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed here (apt-get install nginx); .ci/run installs it"
)

MAIN_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    # As Debian's /etc/nginx/nginx.conf sets up the http context.
    {mime}
    default_type application/octet-stream;
    sendfile on;
    gzip on;
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/feeds.conf;
}}
"""


@dataclass
class Nginx:
    port: int
    root: Path

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        status, message, body = self.fetch("GET", path, {"Accept-Encoding": "identity", **headers})
        return status, {k.lower(): v for k, v in message.items()}, body

    def fetch(self, method: str, path: str, headers: dict[str, str]) -> tuple[int, Message, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            return response.status, response.msg, response.read()
        finally:
            connection.close()


def site_conf(root: Path, listen: str) -> str:
    """docs/nginx.conf, the very text the documentation shows, with its placeholders filled."""
    text = CONF.read_text(encoding="utf-8")
    assert text.count("\n    root @ROOT@;\n") == 1 and text.count("\n    listen @PORT@;\n") == 1
    return text.replace("root @ROOT@;", f"root {root};").replace("listen @PORT@;", f"listen {listen};")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_nginx(root: Path, prefix: Path) -> tuple[subprocess.Popen[bytes], int]:
    """nginx serving ``root``, in the foreground, once it accepts connections."""
    assert NGINX is not None
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read tmp_path (mode 700)
    mime = f"include {MIME_TYPES};" if MIME_TYPES.is_file() else ""
    (prefix / "nginx.conf").write_text(MAIN_CONF.format(user=user, prefix=prefix, mime=mime))
    for attempt in range(3):  # the free port may be taken before nginx binds it
        port = free_port()
        (prefix / "feeds.conf").write_text(site_conf(root, f"127.0.0.1:{port}"))
        command = [
            NGINX,
            "-p",
            str(prefix),
            "-e",
            str(prefix / "error.log"),
            "-c",
            str(prefix / "nginx.conf"),
        ]
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return process, port
            except OSError:
                time.sleep(0.05)
        stop(process)
        log = (prefix / "error.log").read_text(errors="replace")
        if "Address already in use" not in log or attempt == 2:
            pytest.fail(f"nginx did not start:\n{log}")
    raise AssertionError("unreachable")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def nginx(settings: Settings, tmp_path: Path) -> Iterator[Nginx]:
    """The seeds exported with --gzip under tmp_path/out, served by nginx."""
    root = tmp_path / "out"
    report = export_site(settings, root, now=NOW, gzip_too=True)
    assert report.failures == []
    (root / "feeds/.ai.rss.0123456789abcdef.feeds-tmp").write_bytes(b"<rss><cha")  # as a killed export leaves
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    process, port = start_nginx(root, prefix)
    try:
        yield Nginx(port, root)
    finally:
        stop(process)


def test_nginx_serves_every_exported_path_with_the_servers_bytes_and_media_type(
    nginx: Nginx, client: Any
) -> None:
    paths = served_paths(client, "http://feeds.test/")
    assert {"/", "/opml.xml", "/feeds/all.rss", "/feeds/ai.atom", "/feeds/hot/ai.json"} <= paths
    for path in sorted(paths):
        expected = client.get(path)
        status, headers, body = nginx.get(path)
        assert status == 200, path
        assert headers["content-type"] == expected.headers["Content-Type"], path
        assert "content-encoding" not in headers, path
        assert body == expected.data, path
        assert headers["x-content-type-options"] == "nosniff"
        if path.startswith("/feeds/"):
            assert headers["access-control-allow-origin"] == "*", path
        # The pages' policy, as the server sends it, and none on what is not a page.
        assert headers.get("content-security-policy") == expected.headers.get("Content-Security-Policy"), path
        assert (path == "/" or path.endswith(".html")) is (
            headers.get("content-security-policy") == HEADER_POLICY
        )


def test_nginx_gives_a_browser_the_page_of_a_feed_and_everyone_else_the_feed(
    nginx: Nginx, client: Any
) -> None:
    feeds = sorted(
        p for p in served_paths(client, "http://feeds.test/") if p.endswith((".rss", ".atom", ".json"))
    )
    assert "/feeds/hot/ai-ethics.json" in feeds
    for path in feeds:
        page = client.get(path.rpartition(".")[0] + ".html").data
        check_matrix(nginx.fetch, path, client.get(path).data, page)


def test_nginx_sends_the_gz_files_to_clients_that_accept_gzip(nginx: Nginx, client: Any) -> None:
    for path in sorted(served_paths(client, "http://feeds.test/")):
        expected = client.get(path, headers={"Accept-Encoding": "gzip"})
        status, headers, body = nginx.get(path, **{"Accept-Encoding": "gzip, deflate"})
        assert status == 200, path
        assert headers["content-encoding"] == "gzip", path
        assert headers["content-type"] == expected.headers["Content-Type"], path
        assert "Accept-Encoding" in headers["vary"], path
        assert body == expected.data, path  # the server's gzip bytes: the same .gz for both
        assert gzip.decompress(body) == client.get(path).data, path


def test_nginx_hides_the_manifest_and_temporary_files(nginx: Nginx) -> None:
    assert (nginx.root / MANIFEST).is_file()
    for path in (
        f"/{MANIFEST}",
        "/feeds/.ai.rss.0123456789abcdef.feeds-tmp",
        "/feeds/nope.rss",
        "/index.htm",
    ):
        status, _, body = nginx.get(path)
        assert status == 404, path
        assert b"files" not in body and b"<rss" not in body


def test_the_configuration_sends_the_pages_policy() -> None:
    assert f'"{HEADER_POLICY}"' in CONF.read_text(encoding="utf-8"), (
        "docs/nginx.conf (and its copy in docs/deployment.md) must carry the pages' policy (HEADER_POLICY)"
    )


def test_the_documented_configuration_is_the_tested_one() -> None:
    """Any nginx block in the README or the docs is docs/nginx.conf word for word."""
    conf = CONF.read_text(encoding="utf-8")
    blocks = [
        block
        for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
        for block in re.findall(r"```nginx\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    ]
    assert blocks, "the docs show the nginx configuration"
    for block in blocks:
        assert block == conf
    assert "@ROOT@" in conf and "@PORT@" in conf


def test_nginx_caches_closed_archives_for_good_and_the_open_one_as_the_server_does(tmp_path: Path) -> None:
    from tests.test_archives import archives_of, settings_of, write

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for number in range(40):
        write(corpus, number)
    settings = settings_of(corpus)
    root = tmp_path / "out"
    assert export_site(settings, root, now=NOW, gzip_too=True).failures == []
    client = create_app(settings, clock=lambda: NOW, watch=False).test_client()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    process, port = start_nginx(root, prefix)
    try:
        server = Nginx(port, root)
        for stem in ("all", "ai", "hot/space"):
            labels = archives_of(root, stem)
            assert len(labels) > 2
            for label in (labels[0], labels[-2], labels[-1]):
                for ext in ("rss", "atom", "json", "html"):
                    path = f"/feeds/{stem}/archive/{label}.{ext}"
                    expected = client.get(path)
                    status, headers, body = server.get(path)
                    assert (status, body) == (200, expected.data), path
                    assert headers["content-type"] == expected.headers["Content-Type"], path
                    assert headers["cache-control"] == expected.headers["Cache-Control"], path
                    assert headers.get("content-security-policy") == expected.headers.get(
                        "Content-Security-Policy"
                    ), path
                if label != labels[-1]:
                    assert headers["cache-control"].endswith("immutable")
                path = f"/feeds/{stem}/archive/{label}.rss"
                page = client.get(f"/feeds/{stem}/archive/{label}.html").data
                check_matrix(server.fetch, path, client.get(path).data, page)
        status, _, _ = server.get(f"/feeds/ai/archive/.open-{archives_of(root, 'ai')[-1]}")
        assert status == 404
    finally:
        stop(process)
