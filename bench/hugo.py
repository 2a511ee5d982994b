"""Hugo as a baseline: the same corpus as a Hugo site that makes the same feeds.

    python -m bench.hugo CORPUS WORK    # convert, build, and compare with `feeds export`
    python -m bench.hugo CORPUS WORK --convert-only

The site has one content file for each item `feeds` reads from the corpus, with the item's
own front matter (Hugo reads its `published` as the opposite of `draft`), the fields Hugo
needs added (`date`, `description`, the link and id), and the body. Unpublished items are
drafts, and items dated in the future are left out by Hugo itself (`buildFuture` is off), so
every list holds what `feeds` would publish at the moment of the build. The site makes the
feed of all topics and one per topic, each in RSS, Atom and JSON Feed, with the 50 newest
items; no other page is rendered. Converting is not timed: only the `hugo` build is.

Topics are Hugo terms named by the slugs `feeds` gives them, titled by the names it shows,
and items of the same date are ordered by id, so both make the same feeds with the same
items in the same order. What stays different: files `feeds` rejects, and the older copies
of a story, are left out of the site (one bad file stops a Hugo build); Hugo renders the
bodies with its own Markdown renderer; and its items carry the id, title, link, dates,
summary, body, provider and topics, not the images and related stories ours carry too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from feeds.corpus import load_corpus
from feeds.model import Item
from feeds.topics import TopicIndex

BASE_URL = "http://127.0.0.1:8000/"
LIMIT = 50
FORMATS = ("RSS", "Atom", "JSONFeed")
DOCUMENTS = {"RSS": "index.xml", "Atom": "index.atom", "JSONFeed": "index.json"}
"""The file each format writes in the folder of its list (the home folder, or a topic's)."""

ITEM_KEYS = frozenset(
    {
        "category", "title", "excerpt", "publishedDateTime", "originalUrl", "webUrl",
        "ampWebUrl", "cdnAmpWebUrl", "type", "quality", "heat", "published", "provider",
        "topics", "images", "related", "secured",
    }
)  # fmt: skip
"""The keys of the corpus format: `feeds` drops any other, so the site leaves them out too."""

CONFIG: dict[str, object] = {
    "baseURL": BASE_URL,
    "title": "feeds",
    "languageCode": "en",
    "timeZone": "UTC",
    "rssLimit": LIMIT,
    "buildDrafts": False,
    "buildFuture": False,
    "taxonomies": {"topic": "topics"},
    # Items are listed but never rendered as pages of their own, as in `feeds`.
    "cascade": [{"_target": {"kind": "page"}, "_build": {"render": "never"}}],
    "disableKinds": ["section", "taxonomy", "sitemap", "robotsTXT", "404"],
    "ignoreErrors": ["error-disable-taxonomy"],  # "taxonomy" is the list of topics, as meant
    "mediaTypes": {
        "application/atom+xml": {"suffixes": ["atom"]},
        "application/feed+json": {"suffixes": ["json"]},
    },
    "outputFormats": {
        "Atom": {"mediaType": "application/atom+xml", "baseName": "index", "rel": "alternate"},
        "JSONFeed": {
            "mediaType": "application/feed+json",
            "baseName": "index",
            "rel": "alternate",
            "isPlainText": True,
        },
    },
    "outputs": {"home": list(FORMATS), "term": list(FORMATS)},
}

# A partial gives each template what it shares: the list's newest items, its title and date.
FEED = """\
{{- $pages := .Pages -}}
{{- if .IsHome }}{{ $pages = site.RegularPages }}{{ end -}}
{{- $pages = first site.Config.Services.RSS.Limit $pages -}}
{{- $updated := time "1970-01-01T00:00:00Z" -}}
{{- with $pages }}{{ $updated = (index . 0).Date }}{{ end -}}
{{- $title := printf "%s: %s" site.Title (cond .IsHome "All topics" .Title) -}}
{{- return dict "pages" $pages "title" $title "updated" $updated -}}
"""

RSS = """\
{{- $feed := partial "feed.html" . -}}
{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>{{ $feed.title }}</title>
<link>{{ site.BaseURL }}</link>
<description>News, by topic.</description>
<language>{{ site.LanguageCode }}</language>
<atom:link href="{{ (.OutputFormats.Get "RSS").Permalink }}" rel="self" type="application/rss+xml"/>
{{- with $feed.pages }}
<lastBuildDate>{{ $feed.updated.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</lastBuildDate>
{{- end }}
{{- range $feed.pages }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Params.link }}</link>
<guid isPermaLink="false">{{ .Params.uid }}</guid>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
{{- with .Params.provider }}
<dc:creator>{{ .name }}</dc:creator>
{{- end }}
{{- range .Params.topicnames }}
<category>{{ . }}</category>
{{- end }}
<description>{{ .Description }}</description>
{{- with .Content }}
<content:encoded>{{ . | html }}</content:encoded>
{{- end }}
</item>
{{- end }}
</channel>
</rss>
"""

ATOM = """\
{{- $feed := partial "feed.html" . -}}
{{- $self := (.OutputFormats.Get "Atom").Permalink -}}
{{ printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{{ site.LanguageCode }}">
<id>{{ $self }}</id>
<title type="text">{{ $feed.title }}</title>
<updated>{{ $feed.updated.Format "2006-01-02T15:04:05Z07:00" }}</updated>
<author><name>{{ $feed.title }}</name><uri>{{ site.BaseURL }}</uri></author>
<link rel="alternate" type="text/html" href="{{ site.BaseURL }}"/>
<link rel="self" type="application/atom+xml" href="{{ $self }}"/>
<generator>Hugo</generator>
{{- range $feed.pages }}
<entry>
<id>{{ .Params.uid }}</id>
<title type="text">{{ .Title }}</title>
<link rel="alternate" href="{{ .Params.link }}"/>
<published>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</published>
<updated>{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}</updated>
{{- with .Params.provider }}
<author><name>{{ .name }}</name></author>
{{- end }}
{{- range .Params.topicnames }}
<category term="{{ . }}"/>
{{- end }}
<summary type="text">{{ .Description }}</summary>
{{- with .Content }}
<content type="html">{{ . | html }}</content>
{{- end }}
</entry>
{{- end }}
</feed>
"""

# Built as data and written by jsonify, so every string is escaped as JSON.
JSON_FEED = """\
{{- $feed := partial "feed.html" . -}}
{{- $items := slice -}}
{{- range $feed.pages -}}
  {{- $date := .Date.Format "2006-01-02T15:04:05Z07:00" -}}
  {{- $item := dict "id" .Params.uid "url" .Params.link "title" .Title "summary" .Description
      "date_published" $date "date_modified" $date -}}
  {{- with .Content }}{{ $item = merge $item (dict "content_html" (string .)) -}}
  {{- else }}{{ $item = merge $item (dict "content_text" (or $item.summary $item.title)) }}{{ end -}}
  {{- with .Params.provider }}{{ $item = merge $item (dict "authors" (slice (dict "name" .name))) }}{{ end -}}
  {{- with .Params.topicnames }}{{ $item = merge $item (dict "tags" .) }}{{ end -}}
  {{- $items = $items | append $item -}}
{{- end -}}
{{- $document := dict
    "version" "https://jsonfeed.org/version/1.1"
    "title" $feed.title
    "home_page_url" site.BaseURL
    "feed_url" (.OutputFormats.Get "JSONFeed").Permalink
    "description" "News, by topic."
    "language" site.LanguageCode
    "authors" (slice (dict "name" $feed.title "url" site.BaseURL))
    "items" $items -}}
{{- $document | jsonify (dict "indent" " ") }}
"""

LAYOUTS = {
    "partials/feed.html": FEED,
    "_default/list.rss.xml": RSS,
    "_default/list.atom.atom": ATOM,
    "_default/list.jsonfeed.json": JSON_FEED,
}


@dataclass(frozen=True, slots=True)
class Conversion:
    files: int
    items: int
    published: int
    rejected: int


def find_hugo() -> str | None:
    """The `hugo` program on PATH; if there is none, install Debian's package where we may."""
    found = shutil.which("hugo")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    print("hugo is missing: installing Debian's package ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet = subprocess.DEVNULL
    install = ["apt-get", "install", "-y", "hugo"]
    if subprocess.run(install, env=env, stdout=quiet, stderr=quiet).returncode != 0:
        # A fresh system may not have its package lists yet.
        subprocess.run(["apt-get", "update"], env=env, stdout=quiet, stderr=quiet)
        subprocess.run(install, env=env, stdout=quiet, stderr=quiet)
    return shutil.which("hugo")


def version(hugo: str) -> str:
    """What `hugo version` says, e.g. `hugo v0.111.3+extended linux/amd64 ...`."""
    output = subprocess.run([hugo, "version"], capture_output=True, text=True, check=True).stdout
    return output.strip().splitlines()[0]


@dataclass(frozen=True, slots=True)
class Work:
    """A work folder: the converted site, Hugo's output and cache, and an export by `feeds`."""

    site: Path
    out: Path
    cache: Path
    export: Path
    index: Path

    @classmethod
    def at(cls, folder: Path) -> Work:
        names = ("site", "hugo", "hugo-cache", "feeds", "index.sqlite3")
        return cls(*(folder / name for name in names))

    def fresh(self) -> None:
        """Remove both outputs and Hugo's cache, so that the next builds are cold."""
        for folder in (self.out, self.cache, self.export):
            shutil.rmtree(folder, ignore_errors=True)

    def build_command(self, hugo: str) -> list[str]:
        folders = [str(folder.resolve()) for folder in (self.site, self.out, self.cache)]
        return [
            hugo,
            "--quiet",
            "--source",
            folders[0],
            "--destination",
            folders[1],
            "--cacheDir",
            folders[2],
        ]


def convert(corpus: Path, site: Path) -> Conversion:
    """Write ``corpus`` as a Hugo site in ``site``, which is made anew."""
    read = load_corpus(corpus)
    if site.exists():
        shutil.rmtree(site)
    content = site / "content" / "items"
    content.mkdir(parents=True)
    now = datetime.now(UTC)
    topics = TopicIndex(item for item in read.items if item.published and item.published_at <= now)
    for number, item in enumerate(read.items):
        # Terms are the slugs `feeds` gives, so that names Hugo's URLs would make one topic
        # (`AI Ethics`, `AI-Ethics`) stay two. Items that no list shows keep their names.
        found = [(t.slug, t.name) if (t := topics.by_name(name)) else (name, name) for name in item.topics]
        text = front_matter(item, dict(found), (corpus / item.source).read_bytes())
        (content / f"{number:06d}.md").write_text(text, encoding="utf-8")
    for topic in topics:
        # The term's page titles it as `feeds` does: its most common spelling.
        page = site / "content" / "topics" / topic.slug / "_index.md"
        page.parent.mkdir(parents=True)
        page.write_text(f"---\n{dump({'title': topic.name})}---\n", encoding="utf-8")
    (site / "hugo.json").write_text(json.dumps(CONFIG, indent=2) + "\n", encoding="utf-8")
    for name, template in LAYOUTS.items():
        path = site / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template, encoding="utf-8")
    return Conversion(read.files, len(read.items), len(read.published), read.rejected)


def front_matter(item: Item, terms: dict[str, str], data: bytes) -> str:
    """The content file of ``item``: its own fields where Hugo reads them, then its body.

    ``terms`` are its topics, each once: the term (the slug) and the name the feeds show.
    """
    fields = {key: value for key, value in own_fields(data).items() if key in ITEM_KEYS}
    fields.update(
        title=item.title,
        date=item.published_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        published=item.published,  # missing means false, as in `feeds`
        topics=list(terms),
        topicnames=list(terms.values()),
        description=item.excerpt,
        link=item.url,
        uid=item.id,
        # Hugo orders items of the same date by linkTitle, `feeds` by id.
        linkTitle=item.id,
    )
    return f"---\n{dump(fields)}---\n{item.body or ''}\n"


def dump(fields: dict[str, Any]) -> str:
    return yaml.dump(fields, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1000)


def own_fields(data: bytes) -> dict[str, Any]:
    """The front matter of an item file `feeds` has read: the text between its fences."""
    lines = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    end = next(n for n, line in enumerate(lines[1:], start=1) if line.rstrip() in ("---", "..."))
    try:
        fields = yaml.load("\n".join(lines[1:end]), Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return {}  # something only `feeds` reads (its reader removes what YAML refuses)
    return fields if isinstance(fields, dict) else {}


# -- the check ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Feed:
    """What a document says that both tools must agree on: its title, its items in order."""

    title: str
    items: tuple[tuple[str, str], ...]
    """(id, link) of each item."""


def read_json(path: Path) -> Feed:
    document = json.loads(path.read_text(encoding="utf-8"))
    return Feed(document["title"], tuple((item["id"], item["url"]) for item in document["items"]))


def read_atom(path: Path) -> Feed:
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = ElementTree.parse(path).getroot()
    items = []
    for entry in root.iterfind("a:entry", ns):
        links = [link for link in entry.iterfind("a:link", ns) if link.get("rel", "alternate") == "alternate"]
        items.append((entry.findtext("a:id", "", ns), links[0].get("href", "") if links else ""))
    return Feed(root.findtext("a:title", "", ns), tuple(items))


def read_rss(path: Path) -> Feed:
    channel = ElementTree.parse(path).getroot().find("channel")
    assert channel is not None
    items = tuple((item.findtext("guid", ""), item.findtext("link", "")) for item in channel.iterfind("item"))
    return Feed(channel.findtext("title", ""), items)


READERS = {"RSS": read_rss, "Atom": read_atom, "JSONFeed": read_json}
SUFFIXES = {"RSS": ".rss", "Atom": ".atom", "JSONFeed": ".json"}
"""The suffix of each format in a `feeds export`."""


def hugo_feeds(out: Path) -> dict[str, dict[str, Feed]]:
    """Every feed of a Hugo build, by format and by title."""
    found: dict[str, dict[str, Feed]] = {}
    for name, document in DOCUMENTS.items():
        paths = [out / document, *sorted((out / "topics").glob(f"*/{document}"))]
        found[name] = {feed.title: feed for feed in map(READERS[name], paths)}
    return found


def feeds_feeds(out: Path) -> dict[str, dict[str, Feed]]:
    """Every feed of a `feeds export` of all items (not the named selections), likewise."""
    found: dict[str, dict[str, Feed]] = {}
    for name, suffix in SUFFIXES.items():
        paths = sorted((out / "feeds").glob(f"*{suffix}"))
        found[name] = {feed.title: feed for feed in map(READERS[name], paths)}
    return found


def compare(hugo: dict[str, dict[str, Feed]], ours: dict[str, dict[str, Feed]]) -> list[str]:
    """Each difference between the two builds, as a line; none when they make the same feeds."""
    differences = []
    for name in FORMATS:
        theirs, mine = hugo[name], ours[name]
        if only := sorted(theirs.keys() - mine.keys()):
            differences.append(f"{name}: only Hugo makes {', '.join(only)}")
        if only := sorted(mine.keys() - theirs.keys()):
            differences.append(f"{name}: only feeds makes {', '.join(only)}")
        for title in sorted(theirs.keys() & mine.keys()):
            if theirs[title].items != mine[title].items:
                differences.append(
                    f"{name} {title!r}: the items differ ({len(theirs[title].items)} from Hugo,"
                    f" {len(mine[title].items)} from feeds)"
                )
    return differences


def check(hugo: str, corpus: Path, work: Work) -> bool:
    """Convert and build ``corpus`` in ``work``, export it with `feeds`, print how they compare."""
    work.fresh()
    conversion = convert(corpus, work.site)
    print(
        f"converted {conversion.files} files: {conversion.items} items, {conversion.published} of them"
        f" marked published; {conversion.rejected} files rejected by feeds and left out"
    )
    started = time.perf_counter()
    subprocess.run(work.build_command(hugo), check=True)
    print(f"hugo built the site in {time.perf_counter() - started:.2f} s")
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEEDS_")}
    env.update(FEEDS_INDEX=str(work.index), FEEDS_BASE_URL=BASE_URL)
    export = [sys.executable, "-m", "feeds", "export", str(corpus), str(work.export), "--quiet"]
    subprocess.run(export, env=env, stderr=subprocess.DEVNULL, check=False)
    theirs, mine = hugo_feeds(work.out), feeds_feeds(work.export)
    for name in FORMATS:
        print(
            f"{name}: Hugo made {len(theirs[name])} feeds (all topics, each topic), feeds {len(mine[name])}"
        )
    # Every feed is compared; the feed of all topics and the first topic's are shown, to read by eye.
    titles = sorted(theirs["JSONFeed"], key=lambda title: (not title.endswith(": All topics"), title))
    for title in titles[:2]:
        for maker, feeds in (("Hugo", theirs), ("feeds", mine)):
            if title in feeds["JSONFeed"]:
                items = feeds["JSONFeed"][title].items
                newest = f", the newest {' '.join(items[0])}" if items else ""
                print(f"{title!r} by {maker}: {len(items)} items{newest}")
    differences = compare(theirs, mine)
    for line in differences:
        print(line)
    if not differences:
        print("every feed holds the same items (ids and links) in the same order in both, in all formats")
    return not differences


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path)
    parser.add_argument("work", type=Path, help="a folder for the site and both builds (made anew)")
    parser.add_argument("--convert-only", action="store_true", help="write the site in WORK/site, no more")
    args = parser.parse_args()
    work = Work.at(args.work)
    if args.convert_only:
        convert(args.corpus, work.site)
        return
    hugo = find_hugo()
    if hugo is None:
        raise SystemExit("hugo is missing: install Debian's package (apt-get install hugo)")
    print(version(hugo))
    raise SystemExit(0 if check(hugo, args.corpus, work) else 1)


if __name__ == "__main__":
    main()
