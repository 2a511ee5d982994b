"""Settings: flags > FEEDS_* variables > [tool.feeds] in pyproject.toml > defaults."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from feeds.config import DeleteLimit, Settings, bundled_seeds, load_settings
from feeds.errors import ConfigError
from feeds.watch import Mode

from .conftest import SEEDS


def pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings == Settings()
    assert settings.corpus == bundled_seeds() == SEEDS
    assert settings.base_url == "http://127.0.0.1:8000/"
    assert settings.feed_limit == 50 and settings.max_limit == 500
    assert settings.selections == {"hot": 50}


def test_every_setting_is_parsed_from_toml_and_environment(tmp_path: Path) -> None:
    """Every field of Settings can be set both ways (the README's table lists them)."""
    names = {field.name for field in dataclasses.fields(Settings)}
    toml = pyproject(
        tmp_path,
        """
[tool.feeds]
corpus = "news"
site-title = "From TOML"
site_description = "About."
base_url = "https://toml.example/feeds"
language = "pt-BR"
feed_limit = 20
max_limit = 40
cache_max_age = 60
icon = "https://toml.example/icon.png"
logo = "https://toml.example/logo.png"
selections = { top = 80, hot = 50 }
collapse = false
collapse-days = 3
archives = false
archive-size = 12
watch_interval = 0.5
watcher = "poll"
index = "cache/news.sqlite3"
hubs = ["https://hub.example/", "https://other.example/hub?key=1", "https://hub.example/"]
ping_batch = false
hub = true
hub_private_callbacks = true
hub_store = "cache/hub.sqlite3"
hub_lease_min = 60
hub_lease_default = 120
hub_lease_max = 180
hub_max_per_topic = 5
hub-max-per-host = 3
max_deletes = "25%"
log_level = "warning"
log_format = "json"
""",
    )
    settings = load_settings(pyproject=toml)
    assert settings == Settings(
        corpus=tmp_path / "news",  # relative to the pyproject.toml it is written in
        site_title="From TOML",
        site_description="About.",
        base_url="https://toml.example/feeds/",
        language="pt-BR",
        feed_limit=20,
        max_limit=40,
        cache_max_age=60,
        icon="https://toml.example/icon.png",
        logo="https://toml.example/logo.png",
        selections={"hot": 50, "top": 80},
        collapse=False,
        collapse_days=3,
        archives=False,
        archive_size=12,
        watch_interval=0.5,
        watcher=Mode.POLL,
        index=str(tmp_path / "cache/news.sqlite3"),  # relative to the pyproject.toml too
        hubs=("https://hub.example/", "https://other.example/hub?key=1"),  # each once
        ping_batch=False,
        hub=True,
        hub_private_callbacks=True,
        hub_store=str(tmp_path / "cache/hub.sqlite3"),
        hub_lease_min=60,
        hub_lease_default=120,
        hub_lease_max=180,
        hub_max_per_topic=5,
        hub_max_per_host=3,
        max_deletes=DeleteLimit(share=0.25),
        log_level="warning",
        log_format="json",
    )
    environ = {f"FEEDS_{name.upper()}": value for name, value in ENV_VALUES.items()}
    assert set(ENV_VALUES) == names
    from_env = load_settings(environ=environ)
    assert from_env.feed_limit == 7 and from_env.selections == {"a": 1, "b-2": 2}
    assert from_env.corpus == Path("elsewhere")
    assert from_env.watch_interval == 1.5
    assert from_env.watcher is Mode.NOTIFY
    assert from_env.hubs == ("https://a.example/hub", "http://b.example/")
    assert (from_env.hub, from_env.hub_private_callbacks, from_env.ping_batch) == (True, True, False)
    assert (from_env.hub_lease_min, from_env.hub_lease_default, from_env.hub_lease_max) == (1, 2, 2)
    assert from_env.max_deletes == DeleteLimit(files=10)
    assert (from_env.log_level, from_env.log_format) == ("debug", "text")
    assert (from_env.collapse, from_env.collapse_days) == (False, 30)
    assert (from_env.archives, from_env.archive_size) == (False, 3)
    assert from_env.collapsing is None and settings.collapsing is None
    assert Settings().collapsing is not None and Settings().collapsing.days == 7


ENV_VALUES = {
    "max_deletes": "10",
    "log_level": "DEBUG",
    "log_format": "text",
    "corpus": "elsewhere",
    "site_title": "Env",
    "site_description": "Env site.",
    "base_url": "http://env.example",
    "language": "en",
    "feed_limit": "7",
    "max_limit": "9",
    "cache_max_age": "0",
    "icon": "",
    "logo": "https://env.example/logo.png",
    "selections": "b-2=2, a=1",
    "collapse": "0",
    "collapse_days": "30",
    "archives": "0",
    "archive_size": "3",
    "watch_interval": "1.5",
    "watcher": "notify",
    "index": "memory",
    "hubs": " https://a.example/hub  http://b.example/ ",
    "ping_batch": "off",
    "hub": "1",
    "hub_private_callbacks": "true",
    "hub_store": "/tmp/hub.sqlite3",
    "hub_lease_min": "1",
    "hub_lease_default": "2",
    "hub_lease_max": "2",
    "hub_max_per_topic": "10",
    "hub_max_per_host": "2",
}


def test_precedence_flags_then_environment_then_pyproject_then_defaults(tmp_path: Path) -> None:
    toml = pyproject(
        tmp_path,
        '[tool.feeds]\nsite_title = "toml"\nsite_description = "toml"\nlanguage = "de"\nfeed_limit = 3\n',
    )
    environ = {"FEEDS_SITE_TITLE": "env", "FEEDS_SITE_DESCRIPTION": "env", "PATH": "/bin"}
    flags: dict[str, Any] = {"site_title": "flag", "language": None}
    settings = load_settings(flags, environ, toml)
    assert settings.site_title == "flag"  # flag over env and toml
    assert settings.site_description == "env"  # env over toml
    assert settings.language == "de"  # toml over default; a None flag is no flag
    assert settings.feed_limit == 3
    assert settings.base_url == Settings().base_url  # default


def test_a_missing_pyproject_or_one_without_the_table_is_fine(tmp_path: Path) -> None:
    assert load_settings(pyproject=tmp_path / "absent.toml") == Settings()
    assert load_settings(pyproject=pyproject(tmp_path, "[project]\nname = 'x'\n")) == Settings()


def test_unknown_feeds_variables_are_ignored() -> None:
    assert load_settings(environ={"FEEDS_NOT_A_SETTING": "1"}) == Settings()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("base_url", "ftp://x.example/", "must be an absolute http(s) URL"),
        ("base_url", "https://x.example/?q=1", "must be an absolute http(s) URL"),
        ("base_url", "/relative/", "must be an absolute http(s) URL"),
        ("base_url", "http://x.example:99999/", "bad port"),
        ("base_url", "", "must be non-empty text"),
        ("language", "english!", "BCP 47 language tag"),
        ("feed_limit", "ten", "must be a whole number"),
        ("feed_limit", "0", "must be from 1 to 10000"),
        ("feed_limit", "2.5", "must be a whole number"),
        ("max_limit", "100000", "must be from 1 to 10000"),
        ("cache_max_age", "-1", "must be from 0 to 31536000"),
        ("icon", "javascript:alert(1)", "must be an absolute http(s) URL"),
        ("selections", "hot", "must look like 'hot=50,top=80'"),
        ("selections", "all=5", "selection name 'all'"),
        ("selections", "Hot=5", "selection name 'Hot'"),
        ("selections", "hot=lots", "must be a whole number"),
        ("watch_interval", "0", "must be from 0.1 to 3600 seconds"),
        ("watch_interval", "soon", "must be a number of seconds"),
        ("site_title", "   ", "must be non-empty text"),
    ],
)
def test_bad_values_name_where_they_came_from(key: str, value: str, message: str, tmp_path: Path) -> None:
    variable = f"FEEDS_{key.upper()}"
    with pytest.raises(ConfigError) as from_env:
        load_settings(environ={variable: value})
    assert str(from_env.value).startswith(f"{variable}: ")
    assert message in str(from_env.value)

    flag = "--" + key.replace("_", "-")
    with pytest.raises(ConfigError) as from_flag:
        load_settings(flags={key: value})
    assert str(from_flag.value).startswith(f"{flag}: ")

    toml = pyproject(tmp_path, f"[tool.feeds]\n{key} = {value!r}\n".replace("'", '"'))
    with pytest.raises(ConfigError) as from_toml:
        load_settings(pyproject=toml)
    assert str(from_toml.value).startswith(f"{toml} [tool.feeds] {key}: ")


@pytest.mark.parametrize(
    ("toml_value", "message"),
    [
        ("true", "must be a whole number"),
        ("2.0", "must be a whole number"),
        ("[1]", "must be a whole number"),
    ],
)
def test_toml_types_are_checked(toml_value: str, message: str, tmp_path: Path) -> None:
    toml = pyproject(tmp_path, f"[tool.feeds]\nfeed_limit = {toml_value}\n")
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(pyproject=toml)
    assert str(caught.value).startswith(f"{toml} [tool.feeds] feed_limit: ")


@pytest.mark.parametrize(
    ("key", "toml_value"),
    [("watch_interval", "true"), ("site_title", "5"), ("corpus", "5"), ("selections", "[1, 2]"),
     ("selections", '{ hot = "x" }'), ("icon", "3")],
)  # fmt: skip
def test_wrong_toml_types_for_other_settings(key: str, toml_value: str, tmp_path: Path) -> None:
    toml = pyproject(tmp_path, f"[tool.feeds]\n{key} = {toml_value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(pyproject=toml)
    assert str(caught.value).startswith(f"{toml} [tool.feeds] {key}: ")


def test_unknown_toml_setting_is_an_error(tmp_path: Path) -> None:
    toml = pyproject(tmp_path, "[tool.feeds]\nbase-uri = 'http://x.example/'\n")
    message = r"\[tool.feeds\] base-uri: unknown setting; did you mean base_url\?$"
    with pytest.raises(ConfigError, match=message):
        load_settings(pyproject=toml)


@pytest.mark.parametrize(
    "body",
    ["[tool.feeds\n", "tool = 1\n", "[tool]\nfeeds = 'x'\n", "[tool]\nfeeds = [1]\n"],
)
def test_a_broken_pyproject_is_an_error_naming_it(body: str, tmp_path: Path) -> None:
    toml = pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(pyproject=toml)
    assert str(caught.value).startswith(f"{toml}: ")


def test_a_pyproject_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    toml = tmp_path / "pyproject.toml"
    toml.write_bytes(b"[tool.feeds]\nsite_title = '\xff'\n")
    with pytest.raises(ConfigError, match=str(toml)):
        load_settings(pyproject=toml)


def test_feed_limit_may_not_exceed_max_limit() -> None:
    with pytest.raises(
        ConfigError, match=r"^FEEDS_FEED_LIMIT: feed_limit \(600\) must not exceed max_limit \(500\)"
    ):
        load_settings(environ={"FEEDS_FEED_LIMIT": "600"})
    with pytest.raises(
        ConfigError, match=r"^--max-limit: feed_limit \(50\) must not exceed max_limit \(10\)"
    ):
        load_settings(flags={"max_limit": 10})
    assert load_settings(flags={"max_limit": 10, "feed_limit": 10}).feed_limit == 10


def test_with_overrides_checks_values_as_flags() -> None:
    settings = Settings().with_overrides(feed_limit="5", base_url="http://x.example")
    assert settings.feed_limit == 5 and settings.base_url == "http://x.example/"
    with pytest.raises(ConfigError, match="^--feed-limit: must be a whole number"):
        Settings().with_overrides(feed_limit="many")
    with pytest.raises(ConfigError, match="^--nonsense: unknown setting"):
        Settings().with_overrides(nonsense=1)


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().site_title = "x"  # type: ignore[misc]


def test_corpus_flag_accepts_a_path() -> None:
    assert load_settings(flags={"corpus": Path("somewhere")}).corpus == Path("somewhere")


@pytest.mark.parametrize("value", ["News\x01", "a\x85b", "tab\there", "x\ud800"])
def test_text_settings_refuse_control_characters(value: str) -> None:
    with pytest.raises(ConfigError, match="FEEDS_SITE_TITLE: must not contain control characters"):
        load_settings(environ={"FEEDS_SITE_TITLE": value})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("hubs", "ftp://hub.example/", "must be an absolute http(s) URL"),
        ("hubs", "https://hub.example/#top", "with no fragment"),
        ("hubs", "https://hub.example:99999/", "bad port"),
        ("hubs", "https://хаб.example/", "of ASCII characters"),
        ("hub", "maybe", "must be true or false"),
        ("hub_private_callbacks", "2", "must be true or false"),
        ("hub_lease_min", "0", "must be from 1 to 31536000"),
        ("hub_max_per_host", "lots", "must be a whole number"),
    ],
)
def test_bad_websub_values_name_where_they_came_from(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^FEEDS_{key.upper()}: .*{re.escape(message)}"):
        load_settings(environ={f"FEEDS_{key.upper()}": value})
    flag = "--hub-url" if key == "hubs" else "--" + key.replace("_", "-")
    flag_value: Any = (value,) if key == "hubs" else value
    with pytest.raises(ConfigError, match=f"^{flag}: .*{re.escape(message)}"):
        load_settings(flags={key: flag_value})


def test_hubs_from_each_source() -> None:
    assert load_settings(environ={"FEEDS_HUBS": ""}).hubs == ()
    flags = {"hubs": ("https://a.example/", "https://b.example/")}
    assert load_settings(flags, {"FEEDS_HUBS": "https://env.example/"}).hubs == flags["hubs"]
    assert load_settings(environ={"FEEDS_HUB": "yes", "FEEDS_PING_BATCH": "0"}).hub is True


def test_hub_leases_must_be_in_order(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^FEEDS_HUB_LEASE_MAX: hub leases must be hub_lease_min \(3600\)"):
        load_settings(environ={"FEEDS_HUB_LEASE_MAX": "60"})
    toml = pyproject(tmp_path, "[tool.feeds]\nhub_lease_min = 20\nhub_lease_default = 10\n")
    where = re.escape(f"{toml} [tool.feeds] hub_lease_min")
    with pytest.raises(ConfigError, match=f"^{where}: hub leases"):
        load_settings(pyproject=toml)
    short = load_settings(environ={"FEEDS_HUB_LEASE_MIN": "1", "FEEDS_HUB_LEASE_DEFAULT": "2"})
    assert (short.hub_lease_min, short.hub_lease_default, short.hub_lease_max) == (1, 2, 2_592_000)


def test_hub_store_in_pyproject_is_relative_to_it(tmp_path: Path) -> None:
    toml = pyproject(tmp_path, '[tool.feeds]\nhub_store = "state/hub.sqlite3"\n')
    assert load_settings(pyproject=toml).hub_store == str(tmp_path / "state/hub.sqlite3")


def test_the_settings_table_names_every_setting() -> None:
    from .conftest import ROOT

    reference = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    table = reference.split("\n## ", 1)[0]
    for field in dataclasses.fields(Settings):
        assert f"`{field.name}`" in table, field.name
        assert f"`FEEDS_{field.name.upper()}" in table, field.name


def test_a_watcher_that_is_not_one_of_the_modes_is_refused() -> None:
    with pytest.raises(ConfigError, match="FEEDS_WATCHER: must be one of auto, notify, poll, got 'inotify'"):
        load_settings(environ={"FEEDS_WATCHER": "inotify"})
