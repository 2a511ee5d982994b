"""Headless Chromium for the browser tests and the screenshot: Debian's ``chromium`` driven by
Debian's ``chromedriver`` (selenium never fetches one), with no network of its own.

Every host name but the servers under test resolves to an :class:`ImageServer`, which
answers any path with a small PNG over HTTP and HTTPS alike: the items' images load,
whatever host they name, and nothing leaves the machine.
"""

from __future__ import annotations

import base64
import http.server
import shutil
import socket
import socketserver
import ssl
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
OPENSSL = shutil.which("openssl")
TIMEOUT = 20
OTHER_ORIGIN = "feeds-elsewhere.test"
"""A second host name for the servers under test, for cross-origin requests."""

WATCH = """
window.__feeds = {violations: [], calls: []};
document.addEventListener("securitypolicyviolation", (event) => {
    window.__feeds.violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
    window[name] = () => { window.__feeds.calls.push(name); };
}
"""
"""Run in every document before its own scripts (added through DevTools, so no policy of
the page applies to it): it records every Content-Security-Policy violation, and every call
of the functions an injected script would show itself by."""


def missing() -> str | None:
    """What the browser tests lack on this machine, or ``None``."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "chromium or chromedriver is not installed (apt-get install chromium chromium-driver)"
    if OPENSSL is None:
        return "openssl is not installed (apt-get install openssl): the image server needs a certificate"
    return None


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


class ImageServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Answers every GET with :attr:`image`, over TLS when the client starts a handshake
    (its first byte is 0x16) and in the clear otherwise; remembers each URL asked for."""

    daemon_threads = True
    image = png(16, 9, (176, 184, 196))

    def __init__(self, certificate: Path, key: Path) -> None:
        super().__init__(("127.0.0.1", 0), _ImageHandler)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certificate, key)
        self.requests: list[str] = []
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def get_request(self) -> tuple[Any, Any]:
        connection, address = super().get_request()
        connection.settimeout(10)
        try:
            first = connection.recv(1, socket.MSG_PEEK)
        except OSError:
            first = b""
        if first == b"\x16":
            connection = self.tls.wrap_socket(connection, server_side=True)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser that drops a connection is no failure of the page

    def record(self, url: str) -> None:
        with self._lock:
            self.requests.append(url)


class _ImageHandler(http.server.BaseHTTPRequestHandler):
    server: ImageServer

    def do_GET(self) -> None:
        scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
        self.server.record(f"{scheme}://{self.headers.get('Host', '')}{self.path}")
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.server.image)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(self.server.image)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def image_server(folder: Path) -> Iterator[ImageServer]:
    """An :class:`ImageServer` with a throwaway self-signed certificate made in ``folder``."""
    assert OPENSSL is not None
    key, certificate = folder / "images.key", folder / "images.crt"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=images.test"]
        + ["-keyout", str(key), "-out", str(certificate)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    server = ImageServer(certificate, key)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextmanager
def chromium(profile: Path, images: ImageServer) -> Iterator[Any]:
    """Headless Chromium with :data:`WATCH` in every document and its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    rules = f"MAP {OTHER_ORIGIN} 127.0.0.1, MAP * 127.0.0.1:{images.port}, EXCLUDE 127.0.0.1"
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
        "--hide-scrollbars",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
        f"--host-resolver-rules={rules}",
        "--ignore-certificate-errors",  # the image server's certificate is its own
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
        yield driver
    finally:
        driver.quit()


def viewport(driver: Any, width: int, height: int = 900, *, dark: bool = False) -> None:
    """Show documents at ``width`` CSS pixels (a phone's below 500), in a colour scheme."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )
    scheme = "dark" if dark else "light"
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}
    )


def screenshot(driver: Any) -> bytes:
    """The whole document as a PNG at the current width, its lazy images loaded."""
    width = int(driver.execute_script("return document.documentElement.clientWidth"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 500},
    )
    deadline = time.monotonic() + TIMEOUT
    while not driver.execute_script("return [...document.images].every((image) => image.complete)"):
        if time.monotonic() > deadline:
            raise TimeoutError("the page's images did not load")
        time.sleep(0.05)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    return base64.b64decode(shot["data"])
