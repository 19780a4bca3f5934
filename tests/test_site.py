"""Site tests: build with --strict, then check every page in a real browser (Debian chromium).

The built site is served on 127.0.0.1; every request to any other host is blocked and counted
as a failure, as is every console error. Mermaid diagrams must render an svg (Material draws them
in a closed shadow root, opened here by patching ``attachShadow`` before any page script runs),
math must typeset, search must find a chapter's word, and the light/dark toggle must switch.
Screenshots of a few pages (``SCREENSHOTS``: a full-page capture costs more than the page's
checks) go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from ftkit.nav import parts
from tools.chapters import chapters, colab_url, notebook_path, site_path
from tools.pages import ROOT, page_name, site_config

# One process builds the site and drives the browser for every test here (tests/conftest.py).
pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-background-networking",  # no calls home: the network is closed here
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
RENDER_TIMEOUT_MS = 15_000
EVENT_TIMEOUT_MS = 120_000  # an upper bound for a wait that ends on its event
SCREENSHOTS = ("", "peft/lora/", "sft/reasoning/")  # home, a page of math, a training page

OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  return attach.call(this, {...init, mode: "open"});
};
"""

# For every diagram host: 'ok', or why not. Material replaces each <pre class="mermaid"> by a
# <div class="mermaid"> whose shadow root holds the svg; mermaid's error svg says "Syntax error".
DIAGRAM_STATES = """
() => [...document.querySelectorAll(".mermaid")].map((el) => {
  const root = el.shadowRoot;
  if (!root) return el.tagName === "PRE" ? "not rendered" : "no shadow root";
  const svg = root.querySelector("svg");
  if (!svg) return "no svg";
  if (/Syntax error|Parse error/i.test(root.textContent)) return "syntax error";
  return "ok";
})
"""

# For every drawn diagram, the smallest label as rendered, in CSS pixels: the label's font size
# times the scale the svg is drawn at (mermaid scales a wide diagram down to the column), and
# the label's first words, to name the diagram in a failure.
DIAGRAM_TEXT = """
() => [...document.querySelectorAll(".mermaid")].map((el) => {
  const svg = el.shadowRoot && el.shadowRoot.querySelector("svg");
  if (!svg) return null;
  const box = svg.viewBox.baseVal;
  const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
  const labels = [...svg.querySelectorAll("text, foreignObject span, foreignObject p")]
    .filter((t) => t.textContent.trim() && !t.querySelector("span, p"));
  if (!labels.length) return null;
  const sizes = labels.map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
  const smallest = Math.min(...sizes);
  return {px: Math.round(smallest * 10) / 10, first: labels[0].textContent.trim().slice(0, 40)};
})
"""
# The same for the charts of checked outputs (tools/charts.py: inline svg, no shadow root), with
# whether each carries its text alternative (a title and a description of every number).
CHART_TEXT = """
() => [...document.querySelectorAll("figure.chart svg")].map((svg) => {
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  const sizes = [...svg.querySelectorAll("text")]
    .map((t) => parseFloat(getComputedStyle(t).fontSize));
  const named = svg.getAttribute("role") === "img" &&
    svg.getAttribute("aria-labelledby").split(" ").every((id) => document.getElementById(id));
  return {px: Math.round(Math.min(...sizes) * scale * 10) / 10, named,
          first: svg.querySelector("title").textContent.slice(0, 40)};
})
"""
MIN_DIAGRAM_TEXT_PX = 12  # at a 1280-pixel window, Playwright's default viewport

# Every shown code block that scrolls sideways (outputs, "text", are let be: a table may need the
# width), with its longest line to name it. Blocks in tabs other than the open one are laid out
# for the measurement, so every tab is measured.
CODE_OVERFLOW = """
() => {
  const style = document.createElement("style");
  style.textContent = ".tabbed-block { display: block !important; }";
  document.head.appendChild(style);
  const blocks = [...document.querySelectorAll(
    ".md-content div.highlight:not(.language-text) pre > code")];
  const found = blocks.map((code, i) => {
    const over = code.scrollWidth - code.clientWidth;
    const longest = code.textContent.split("\\n").reduce((a, b) => (b.length > a.length ? b : a));
    return {block: i + 1, px: over, line: longest.trim().slice(0, 50)};
  }).filter((b) => b.px > 0);
  style.remove();
  return found;
}
"""
PHONE = {"width": 390, "height": 844}  # a phone held upright, in CSS pixels
# Typeset equations drawn smaller than 2 pixels where they are shown (a container sized to its
# content can squeeze MathJax's svg, max-width: 100%, to nothing): their TeX, to name them.
HIDDEN_MATH = """
() => [...document.querySelectorAll(".arithmatex mjx-container")].filter((c) => {
  const box = c.querySelector("svg").getBoundingClientRect();
  return c.checkVisibility() && (box.width < 2 || box.height < 2);
}).map((c) => c.closest(".arithmatex").textContent.trim().slice(0, 40))
"""

# What sticks out of the window sideways, outside boxes that scroll or clip on their own (code
# blocks, tables and Material's drawers do): the outermost such elements, named.
PAGE_OVERFLOW = """
() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  const boxed = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1 || boxed(el)) continue;
    if (out.some((o) => o.contains(el))) continue;
    out.push(el);
  }
  return out.slice(0, 5).map((el) => {
    const name = el.tagName.toLowerCase() + (el.classList[0] ? "." + el.classList[0] : "");
    return `${name} (${Math.round(el.getBoundingClientRect().right - width)} px): ` +
      el.textContent.trim().slice(0, 40);
  });
}
"""

NOTEBOOK_STATE = """
() => ({
  cells: document.querySelectorAll(".jp-Notebook .jp-CodeCell").length,
  outputs: document.querySelectorAll(".jp-Notebook .jp-OutputArea-output").length,
  math: document.querySelectorAll(".jp-RenderedMarkdown mjx-container svg").length,
  raw: [...document.querySelectorAll(".jp-RenderedMarkdown p")]
    .filter((p) => /\\$[^$\\s][^$]*\\$/.test(p.textContent)).length,
  errors: document.querySelectorAll('mjx-container [data-mml-node="merror"]').length,
})
"""

MATH_STATE = """
() => ({
  math: document.querySelectorAll(".arithmatex").length,
  typeset: document.querySelectorAll(".arithmatex mjx-container svg").length,
  errors: document.querySelectorAll('mjx-container [data-mml-node="merror"]').length,
})
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-4000:]}"
    return out


def test_build_is_strict_and_complete(site):
    for page in (
        "index.html",
        "how-this-guide-works/index.html",
        "foundations/index.html",
        "foundations/training-and-fine-tuning/index.html",
    ):
        assert (site / page).is_file(), page
    assert (site / "assets/vendor/mermaid/mermaid.min.js").is_file()
    assert (site / "assets/vendor/mathjax/tex-svg-full.js").is_file()
    assert not (site / "includes").exists()  # fragments are not published as pages
    # The roadmap is drawn from the nav: every part of the guide is a box on the home page
    home = (site / "index.html").read_text(encoding="utf-8")
    roadmap = home[home.index('<pre class="mermaid">') : home.index("</pre>")]
    for part in parts(site_config()["nav"]):
        assert f'["{part.title}"]' in roadmap, part.title
    # Search results show math as text, not TeX (tools/mkdocs_hooks.py: on_post_build)
    index = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    raw = [d["location"] for d in index["docs"] if re.search(r"\\[(\[]", d["title"] + d["text"])]
    assert not raw, f"raw TeX in the search index: {raw}"
    assert "The scaling rule: α / r against α / √r" in {d["title"] for d in index["docs"]}
    # MathJax only where there is math (tools/mkdocs_hooks.py: on_post_page)
    assert "tex-svg-full.js" not in (site / "foundations/index.html").read_text(encoding="utf-8")
    math_page = (site / "foundations/training-and-fine-tuning/index.html").read_text("utf-8")
    assert "mathjax-config.js" in math_page and "tex-svg-full.js" in math_page


def test_no_raw_latex_in_the_navigation(site):
    """A heading with math gets a plain label for the table of contents ({ data-toc-label }):
    the navigation shows text, and MathJax never typesets it there."""
    raw = []
    for html in site.rglob("*.html"):
        for link in re.findall(
            r'<a [^>]*class="md-nav__link"[^>]*>(.*?)</a>', html.read_text(encoding="utf-8"), re.S
        ):
            if "\\(" in link or "\\[" in link:
                raw.append(f"{html.relative_to(site)}: {' '.join(link.split())[:80]}")
    assert not raw, "raw LaTeX in the navigation:\n" + "\n".join(raw)


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium", False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A page opened in a fresh context, with everything that went wrong recorded."""

    def __init__(self, browser, url: str, color_scheme: str = "light", wait_until: str = "load"):
        self.context = browser.new_context(color_scheme=color_scheme)
        self.context.add_init_script(OPEN_SHADOW_ROOTS)
        self.errors: list[str] = []
        self.offsite: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", self._failed)
        # "load" by default, not "networkidle": the waits below end on what the page shows
        # (diagrams drawn, math typeset), and networkidle adds half a second of silence to
        # every visit. The search test waits for the network: its index loads after "load".
        self.page.goto(url, wait_until=wait_until)

    def _route(self, route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.offsite.append(route.request.url)
            route.abort()

    def _failed(self, request):
        if urlparse(request.url).hostname == "127.0.0.1":
            self.errors.append(f"failed request {request.url}: {request.failure}")

    def _settle(self, state_js: str, done_js: str, timeout_ms: int):
        """Wait until ``done_js`` holds of the page's state, then return the state either way,
        so a failure reports what the page shows rather than a bare timeout."""
        try:
            self.page.wait_for_function(
                f"() => {{ const s = ({state_js})(); return {done_js}; }}", timeout=timeout_ms
            )
        except PlaywrightTimeout:
            pass
        return self.page.evaluate(state_js)

    def diagrams(self, timeout_ms: int = RENDER_TIMEOUT_MS) -> list[str]:
        return self._settle(
            DIAGRAM_STATES, "s.every((d) => d !== 'not rendered' && d !== 'no svg')", timeout_ms
        )

    def math(self) -> dict:
        return self._settle(MATH_STATE, "s.typeset >= s.math", RENDER_TIMEOUT_MS)

    def wait_for_error(self, prefix: str) -> None:
        """Return once the page has reported an error starting with ``prefix``: an uncaught
        exception (how mermaid reports a diagram it cannot parse) or a console error. The wait
        ends on the event; its limit is only there so that a page that never reports it fails
        instead of hanging, and is generous, for a machine busy training in other processes."""
        # The sync API delivers events only inside its own calls, so none can slip in between
        # this check and the wait.
        if not any(e.startswith(prefix) for e in self.errors):
            self.page.wait_for_event(
                "pageerror", predicate=lambda e: str(e).startswith(prefix), timeout=EVENT_TIMEOUT_MS
            )

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def site_pages(site: Path) -> list[str]:
    """Every page of the built site, as a path relative to its root ('' is the home page)."""
    found = []
    for html in sorted(site.rglob("index.html")):
        rel = html.parent.relative_to(site).as_posix()
        if rel.split("/")[0] not in ("assets", "search"):
            found.append("" if rel == "." else rel + "/")
    return found


def inspect_page(visit: Visit, path: str, diagram_timeout_ms: int = RENDER_TIMEOUT_MS) -> dict:
    """An open page once its diagrams and math have settled: their states, and everything wrong
    with it as ``problems``, each line naming the page (the console is read last: rendering can
    log errors of its own)."""
    diagrams = visit.diagrams(diagram_timeout_ms)
    math = visit.math()
    problems = [f"/{path}: console error: {e}" for e in visit.errors]
    problems += [f"/{path}: request to another host: {u}" for u in visit.offsite]
    for i, state in enumerate(diagrams, 1):
        if state != "ok":
            problems.append(f"/{path}: Mermaid diagram {i}: {state}")
    if math["typeset"] < math["math"] or math["errors"]:
        problems.append(f"/{path}: math not typeset: {math}")
    return {"problems": problems, "diagrams": diagrams, "math": math}


def check_page(browser, server: str, path: str) -> dict:
    """Open one page: ``inspect_page``'s report, with the size of its diagrams' labels and the
    code blocks that scroll sideways at the default 1280-pixel window, then what overflows the
    window at a phone's width (and screenshots at both widths for SCREENSHOTS)."""
    visit = Visit(browser, f"{server}/{path}")
    shot = path.strip("/").replace("/", "_") or "home"
    try:
        seen = inspect_page(visit, path)
        seen["diagram_text"] = visit.page.evaluate(DIAGRAM_TEXT)
        seen["chart_text"] = visit.page.evaluate(CHART_TEXT)
        seen["code_overflow"] = visit.page.evaluate(CODE_OVERFLOW)
        if path in SCREENSHOTS:
            visit.screenshot(shot)
        visit.page.set_viewport_size(PHONE)  # the same load, laid out again
        seen["phone_overflow"] = visit.page.evaluate(PAGE_OVERFLOW)
        seen["phone_hidden_math"] = visit.page.evaluate(HIDDEN_MATH)
        if path in SCREENSHOTS:
            visit.screenshot(f"{shot}-phone")
    finally:
        visit.close()
    return seen


# The notebook page every_page opens. The notebook pages are one template filled by one converter,
# so the browser opens one (among the largest) and
# test_every_notebook_page_loads_what_the_opened_one_loads checks the others load the same files:
# a visit is seconds of MathJax, and opening all of them was a tenth of the suite.
NOTEBOOK_PAGE = "notebooks/vlm/"


def notebook_pages(site: Path) -> list[str]:
    """The site's pages of one notebook each (mkdocs-jupyter's, under notebooks/)."""
    return [p for p in site_pages(site) if p.startswith("notebooks/") and p != "notebooks/"]


def browsed_pages(site: Path) -> list[str]:
    """The pages every_page opens: every page but the notebook pages, and one of those."""
    notebooks = set(notebook_pages(site))
    return [*(p for p in site_pages(site) if p not in notebooks), NOTEBOOK_PAGE]


@pytest.fixture(scope="module")
def every_page(site, server, browser) -> dict[str, dict]:
    """Every page of the site, each opened once (a visit is seconds of MathJax and Mermaid), but
    for the notebook pages, which one opened page stands for (see NOTEBOOK_PAGE)."""
    return {path: check_page(browser, server, path) for path in browsed_pages(site)}


def test_every_page_loads_clean_offline_with_diagrams_and_math(every_page):
    assert len(every_page) >= 5
    problems = [p for seen in every_page.values() for p in seen["problems"]]
    assert not problems, "\n".join(problems)


def test_pages_with_diagrams_and_math_are_checked(every_page):
    """The checks above look at something: the home roadmap renders, the chapter's math too."""
    assert every_page[""]["diagrams"] == ["ok"]
    math = every_page["foundations/training-and-fine-tuning/"]["math"]
    assert math["math"] >= 5 and math["typeset"] == math["math"] and not math["errors"]


def test_diagram_and_chart_labels_are_readable_at_page_width(every_page):
    """A wide diagram or chart is scaled down to the column: its labels must still render at
    12 px. A chart also names itself and its numbers to a screen reader."""
    small = [
        f"/{path}: {kind} {i} ({text['first']!r}...): labels at {text['px']} px"
        for path, seen in every_page.items()
        for kind in ("diagram", "chart")
        for i, text in enumerate(seen[f"{kind}_text"], 1)
        if text and text["px"] < MIN_DIAGRAM_TEXT_PX
    ]
    assert not small, f"text under {MIN_DIAGRAM_TEXT_PX} px:\n" + "\n".join(small)
    charts = [(path, chart) for path, seen in every_page.items() for chart in seen["chart_text"]]
    assert len(charts) >= 10, "the chart checks would look at nothing"
    unnamed = [f"/{path}: {chart['first']!r}" for path, chart in charts if not chart["named"]]
    assert not unnamed, "charts without their text alternative:\n" + "\n".join(unnamed)


def test_shown_code_fits_its_column(every_page):
    """No shown code block scrolls sideways at 1280 pixels: the reader sees every comment.
    (tests/test_guards.py checks the same on the source, by line length, without a browser.)"""
    wide = [
        f"/{path}: code block {b['block']} scrolls {b['px']} px sideways: {b['line']!r}"
        for path, seen in every_page.items()
        for b in seen["code_overflow"]
    ]
    assert not wide, "code wider than its column:\n" + "\n".join(wide)


def test_pages_fit_a_phone_screen(every_page):
    """At 390 pixels nothing but the boxes that scroll on their own (code, tables, display
    math) is wider than the window: the page itself never scrolls sideways. And every equation
    is still drawn."""
    wide = [
        f"/{path}: {what}" for path, seen in every_page.items() for what in seen["phone_overflow"]
    ]
    assert not wide, f"wider than a {PHONE['width']}-pixel window:\n" + "\n".join(wide)
    hidden = [
        f"/{path}: an equation drawn at under 2 px: {tex!r}"
        for path, seen in every_page.items()
        for tex in seen["phone_hidden_math"]
    ]
    assert not hidden, "\n".join(hidden)


def test_a_broken_diagram_fails_naming_the_page(site, server, browser):
    """A copy of the home page, beside it so its relative links hold, with a bad diagram."""
    broken = site / "broken-diagram.html"
    html = (site / "index.html").read_text(encoding="utf-8")
    start = html.index('<pre class="mermaid"><code>') + len('<pre class="mermaid"><code>')
    end = html.index("</code></pre>", start)
    broken.write_text(html[:start] + "flowchart TD\n  A --&gt;&gt;&gt; [oops" + html[end:])
    visit = Visit(browser, f"{server}/broken-diagram.html")
    try:
        # mermaid throws on the diagram (an uncaught "Parse error") and leaves it undrawn: wait
        # for that event (however long a loaded machine takes), then read the page as is.
        visit.wait_for_error("Parse error")
        problems = inspect_page(visit, "broken-diagram.html", diagram_timeout_ms=1)["problems"]
    finally:
        visit.close()
        broken.unlink()
    assert "/broken-diagram.html: Mermaid diagram 1: not rendered" in problems, problems
    assert any(p.startswith("/broken-diagram.html: console error: Parse error") for p in problems)


def test_the_width_checks_name_what_is_too_wide(site, server, browser):
    """A copy of the LoRA page, beside it so its links hold, with a code line too long for its
    column, a box wider than a phone, and the style that once squeezed equations to nothing:
    the checks find all three, and name them."""
    page = site / "peft" / "lora" / "too-wide.html"
    html = (site / "peft" / "lora" / "index.html").read_text(encoding="utf-8")
    squeeze = "<style>div.arithmatex mjx-container > svg { max-width: 100% !important; }</style>"
    html = html.replace("</head>", squeeze + "</head>", 1)
    article = '<article class="md-content__inner md-typeset">'
    start = html.index(article) + len(article)
    wide = (
        '<div class="language-python highlight"><pre><span></span><code>'
        + "x = 1  # "
        + "a comment that will not fit " * 4
        + '</code></pre></div><div style="width: 600px">a fixed-width box</div>'
    )
    page.write_text(html[:start] + wide + html[start:], encoding="utf-8")
    visit = Visit(browser, f"{server}/peft/lora/too-wide.html")
    try:
        typeset = visit.math()
        code = visit.page.evaluate(CODE_OVERFLOW)
        visit.page.set_viewport_size(PHONE)
        phone = visit.page.evaluate(PAGE_OVERFLOW)
        hidden = visit.page.evaluate(HIDDEN_MATH)
    finally:
        visit.close()
        page.unlink()
    assert typeset["typeset"] == typeset["math"] > 0, typeset
    assert [(b["block"], b["line"][:20]) for b in code] == [(1, "x = 1  # a comment t")], code
    assert code[0]["px"] > 0
    assert len(phone) == 1 and phone[0].startswith("div (") and "a fixed-width box" in phone[0]
    assert hidden and hidden[0].startswith("ΔW=BA"), hidden  # MathJax's text of the TeX


def test_search_finds_a_word_from_a_chapter(server, browser):
    visit = Visit(browser, f"{server}/", wait_until="networkidle")
    try:
        page = visit.page
        box = page.locator("input.md-search__input")
        box.click()
        box.press_sequentially("memorization")  # Material searches on key events
        hit = page.locator(".md-search-result__item a[href*='training-and-fine-tuning']").first
        hit.wait_for(timeout=RENDER_TIMEOUT_MS)
        visit.screenshot("search")
        assert not visit.errors and not visit.offsite
    finally:
        visit.close()


def test_light_dark_toggle_switches_the_scheme(server, browser):
    visit = Visit(browser, f"{server}/foundations/fine-tuning-vs-rag-vs-agents/")
    try:
        page = visit.page
        scheme = "document.body.getAttribute('data-md-color-scheme')"
        assert page.evaluate(scheme) == "default"
        toggle = page.locator("form[data-md-component='palette'] label:visible")
        assert toggle.get_attribute("title") == "Switch to dark mode"
        toggle.click()
        page.wait_for_function(f"{scheme} === 'slate'", timeout=RENDER_TIMEOUT_MS)
        assert visit.diagrams() == ["ok"]  # diagrams re-render in the dark palette
        visit.screenshot("dark-mode")
        toggle.click()  # the other label, now the visible one
        page.wait_for_function(f"{scheme} === 'default'", timeout=RENDER_TIMEOUT_MS)
    finally:
        visit.close()


def test_every_chapter_page_links_its_notebook(site):
    """Open in Colab (the repository of mkdocs.yml), download (the committed file), read here."""
    pages = chapters()
    assert len(pages) >= 10
    for page in pages:
        name = page_name(page)
        folder = site / site_path(name)
        html = (folder / "index.html").read_text(encoding="utf-8")
        buttons = re.search(r'<div class="notebook-buttons">(.*?)</div>', html, re.S)
        assert buttons, f"{name}: no notebook buttons"
        colab, download, here = re.findall(r'href="([^"]+)"', buttons[1])
        assert colab == colab_url(name)
        assert colab.startswith("https://colab.research.google.com/github/llm-fine-tuning-study")
        assert (folder / download).resolve().read_bytes() == notebook_path(name).read_bytes()
        assert 'class="jp-Notebook"' in (folder / here / "index.html").read_text(encoding="utf-8")
        assert buttons[1].count("<svg") == 3  # the theme's icons, inline: no icon font to fetch
    listing = (site / "how-this-guide-works" / "index.html").read_text(encoding="utf-8")
    for page in pages:  # the table of all notebooks
        assert listing.count(colab_url(page_name(page))) == 1, page_name(page)
    for html in (site / "notebooks").rglob("index.html"):
        assert "cdnjs" not in html.read_text(encoding="utf-8"), html  # nbconvert's CDN scripts


def _assets(html: str) -> list[str]:
    """The scripts and stylesheets a page loads, in order."""
    return re.findall(r'<script[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+\.css)"', html)


def test_every_notebook_page_loads_what_the_opened_one_loads(site):
    """The notebook pages the browser does not open load the same scripts and stylesheets as the
    one it does (NOTEBOOK_PAGE), and hold a rendered notebook with its cells."""
    pages = notebook_pages(site)
    assert NOTEBOOK_PAGE in pages and len(pages) == len(chapters())
    opened = _assets((site / NOTEBOOK_PAGE / "index.html").read_text(encoding="utf-8"))
    assert len(opened) >= 4, opened
    for page in pages:
        html = (site / page / "index.html").read_text(encoding="utf-8")
        assert _assets(html) == opened, f"/{page} loads other files than /{NOTEBOOK_PAGE}"
        assert html.count('class="jp-Cell ') >= 5, f"/{page}: no notebook cells"


def test_a_notebook_page_renders_its_cells_outputs_and_math(server, browser):
    visit = Visit(browser, f"{server}/notebooks/peft-lora/")
    try:
        state = visit._settle(NOTEBOOK_STATE, "s.math > 0 && s.raw === 0", RENDER_TIMEOUT_MS)
        assert state["cells"] >= 10 and state["outputs"] >= 5, state
        assert state["math"] >= 20 and state["raw"] == 0 and not state["errors"], state
        back = visit.page.locator(".notebook-buttons a", has_text="Back to the chapter")
        assert back.get_attribute("href") == "../../peft/lora/"
        assert not visit.errors and not visit.offsite
    finally:
        visit.close()
