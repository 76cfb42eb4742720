"""The built documentation site: no raw Sphinx roles, no external assets, math that renders.

``make test`` builds the site (``mkdocs build --strict``) into ``build/site`` before pytest
runs; these tests read it (``HAMGEO_SITE`` points elsewhere) and skip when it is absent.

``make docs-check`` runs this file as a script: it serves the site on localhost, opens key
pages in headless Chromium with every other host unreachable, saves a screenshot of each,
and fails on any console error (a failed request included) or math KaTeX did not render::

    python tests/test_docs.py build/site build/screenshots
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(os.environ.get("HAMGEO_SITE", ROOT / "build" / "site"))

# pages whose docstrings still hold Sphinx roles, being converted by their owners: reported,
# not failed, until the list is empty (then delete it)
PENDING_ROLES: set[str] = set()

ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|attr|exc|data|obj|ref|const|doc):(?:<code>|`)")
EXTERNAL_ASSET = re.compile(
    r"<(?:script|img|link|source|iframe)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.I
)
CSS_EXTERNAL = re.compile(r"(?:@import|url\()\s*[\"']?(?:https?:)?//", re.I)
MATH_MARKUP = re.compile(r"\\\(|\\\[|\$\$|\\(?:frac|beta|sum|mathbb|operatorname)\b")
KATEX = ("assets/katex/katex.min.js", "assets/katex/contrib/auto-render.min.js", "render-math.js")


def _pages() -> list[Path]:
    if not (SITE / "index.html").exists():
        pytest.skip(f"no built site at {SITE} (make test builds it first)")
    return sorted(SITE.rglob("*.html"))


def _name(page: Path) -> str:
    return page.relative_to(SITE).as_posix()


def _strip(html: str, *, math: bool) -> str:
    """``html`` without code blocks (and without the arithmatex elements if ``math``)."""
    html = re.sub(r"<pre\b.*?</pre>|<code\b.*?</code>", " ", html, flags=re.S)
    html = re.sub(r"<script\b.*?</script>", " ", html, flags=re.S)
    if math:
        html = re.sub(
            r'<(span|div) class="arithmatex">.*?</\1>', " ", html, flags=re.S
        )  # arithmatex never nests
    return html


def test_no_raw_sphinx_roles():
    found = {}
    for page in _pages():
        hits = ROLE.findall(page.read_text(encoding="utf-8"))
        if hits:
            found[_name(page)] = len(hits)
    failing = {k: v for k, v in found.items() if k not in PENDING_ROLES}
    if found.keys() & PENDING_ROLES:
        print(f"Sphinx roles still pending conversion: {found.keys() & PENDING_ROLES}")
    assert not failing, f"raw Sphinx roles (use [`name`][hamgeo.module.name]): {failing}"


def test_no_external_assets():
    bad = []
    for page in _pages():
        for m in EXTERNAL_ASSET.finditer(page.read_text(encoding="utf-8")):
            bad.append(f"{_name(page)}: {m.group(0)[:120]}")
    for css in SITE.rglob("*.css"):
        if CSS_EXTERNAL.search(css.read_text(encoding="utf-8", errors="replace")):
            bad.append(f"{css.relative_to(SITE)}: an external @import / url()")
    assert not bad, "the site must make no external request:\n" + "\n".join(bad[:20])


def test_math_is_marked_for_katex_and_katex_is_served():
    pages = _pages()  # skips, as its siblings do, where no site was built
    for asset in ("assets/katex/katex.min.js", "assets/katex/katex.min.css"):
        assert (SITE / asset).is_file(), f"{asset} is not in the site"
    fonts = list((SITE / "assets" / "katex" / "fonts").glob("*.woff2"))
    assert len(fonts) >= 15, "KaTeX's fonts are not served"
    raw, without_katex, n_math = [], [], 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        if 'class="arithmatex"' in html:
            n_math += 1
            if not all(a in html for a in KATEX):
                without_katex.append(_name(page))
        m = MATH_MARKUP.search(_strip(html, math=True))
        if m:
            raw.append(f"{_name(page)}: {m.group(0)!r}")
    assert n_math > 0, "no page has math: the arithmatex extension is off?"
    assert not without_katex, f"pages with math but without KaTeX: {without_katex}"
    assert not raw, f"math markup outside arithmatex (it would show raw): {raw[:10]}"


def test_private_modules_are_not_documented():
    pages = {_name(p) for p in _pages()}
    api = [p for p in pages if p.startswith("api/")]
    assert api, "no API pages"
    leaked = sorted(
        f"{p}: {m}"
        for p in api
        for m in set(re.findall(r'id="(hamgeo\.(?:\w+\.)*_[a-z]\w*)"', (SITE / p).read_text()))
    )
    assert not leaked, f"private modules or names on API pages: {leaked[:10]}"


# ---------------------------------------------------------------- make docs-check (Chromium)

KEY_PAGES = [
    "index.html",
    "getting-started/index.html",
    "concepts/codes/index.html",
    "concepts/compare-samples/index.html",
    "reproductions/discriminability/index.html",
    "api/hamming/index.html",
    "api/transport/index.html",
]


# Chromium's own background calls (updates, clock, accounts): not the site's requests.
# fonts.googleapis.com and fonts.gstatic.com are deliberately not here.
BROWSER_OWN_HOSTS = {
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "redirector.gvt1.com",
    "optimizationguide-pa.googleapis.com",
    "content-autofill.googleapis.com",
}


def _chromium() -> str | None:
    return next(
        (c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None
    )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args, **kwargs):
        pass


# Chromium's traffic annotations of a page's own loads: navigation_url_loader and
# blink_resource_loader (scripts, styles, fonts, images a page asks for)
PAGE_ANNOTATIONS = {"63171670", "101845102"}


def _external_requests(netlog: str, base: str) -> list[str]:
    """URLs outside ``base`` that the *page* asked for, from a Chromium net log.

    Each request carries a network traffic annotation naming who made it: the page's own
    loads carry navigation's and Blink's resource loader's (``PAGE_ANNOTATIONS``) and any
    seen on its requests to ``base``; the browser's background services (time, spelling
    dictionaries, account and search-box prefetches) carry theirs. A URL outside ``base``
    counts when it was requested under one of the page's annotations, or under none and not
    from a known browser host.
    """
    annotations: dict[str, set[str]] = {}  # url -> the annotations it was requested under
    for a, u in re.findall(r'"traffic_annotation":(\d+),"url":"(https?://[^"]+)"', netlog):
        annotations.setdefault(u, set()).add(a)
    page = PAGE_ANNOTATIONS.union(*(a for u, a in annotations.items() if u.startswith(base)))
    urls = re.findall(r'"url":"(https?://[^"]+)"', netlog)
    outside = {u for u in urls if not u.startswith(base)}
    return sorted(
        u
        for u in outside
        if (
            annotations[u] & page
            if u in annotations
            else urlsplit(u).hostname not in BROWSER_OWN_HOSTS
        )
    )


def test_external_requests_are_the_pages_not_the_browsers():
    base = "http://127.0.0.1:8000/"
    log = (
        '{"traffic_annotation":63171670,"url":"http://127.0.0.1:8000/index.html"}'
        '{"traffic_annotation":101845102,"url":"https://fonts.googleapis.com/css"}'
        '{"traffic_annotation":109231476,"url":"https://www.google.com/async/folae"}'
        '{"url":"https://www.google.com/async/folae"}'
        '{"url":"https://cdn.example.org/katex.js"}'
        '{"url":"https://accounts.google.com/ListAccounts"}'
    )
    assert _external_requests(log, base) == [
        "https://cdn.example.org/katex.js",
        "https://fonts.googleapis.com/css",
    ]


def check_in_chromium(site: Path, shots: Path) -> list[str]:
    """Open the key pages of ``site`` in headless Chromium; return the problems found."""
    browser = _chromium()
    if browser is None:
        return ["no Chromium: apt-get install chromium (Debian) to run the docs check"]
    shots.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    flags = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-features=AutofillServerCommunication,Translate,OptimizationHints",
        "--window-size=1280,1600",
    ]
    problems = []
    try:
        for page in KEY_PAGES:
            url = base + page
            shot = shots / (page.replace("/", "_").removesuffix(".html") + ".png")
            net = shots / (shot.stem + ".netlog.json")
            run = subprocess.run(
                [browser, *flags, f"--log-net-log={net}", f"--screenshot={shot}", url],
                capture_output=True,
                text=True,
                timeout=120,
            )
            # headless Chromium logs every console message as INFO:CONSOLE; the site logs none
            errors = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
            problems += [f"{page}: console: {line.strip()[:200]}" for line in errors]
            outside = _external_requests(net.read_text(errors="replace"), base)
            problems += [f"{page}: external request {u[:120]}" for u in outside]
            if not shot.exists():
                problems.append(f"{page}: no screenshot ({run.returncode})")
            dom = subprocess.run(
                [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
            ).stdout
            starts = [m.end() for m in re.finditer(r'class="arithmatex">', dom)]
            n_math = len(starts)
            n_katex = sum('class="katex' in dom[i : i + 80] for i in starts)
            if n_math and n_katex < n_math:
                problems.append(f"{page}: {n_math - n_katex} of {n_math} formulas not rendered")
            print(f"{page}: {len(errors)} console error(s), {n_math} formula(s), {shot.name}")
    finally:
        server.shutdown()
    return problems


if __name__ == "__main__":
    site = Path(sys.argv[1] if len(sys.argv) > 1 else SITE)
    shots = Path(sys.argv[2] if len(sys.argv) > 2 else ROOT / "build" / "screenshots")
    found = check_in_chromium(site, shots)
    for problem in found:
        print("FAIL", problem, file=sys.stderr)
    sys.exit(1 if found else 0)
