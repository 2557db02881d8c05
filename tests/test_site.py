"""The website of the executed series (`make site`, helpers/site.py), checked in files and in Chromium.

The module builds the smoke site from `artifacts/smoke/executed/` (running any smoke lesson missing
there); `SITE_PROFILE=full` checks the full site instead, built from `make figures`' notebooks and
never executed here. The browser test needs Debian's `chromium` and `chromium-driver` (`.ci/run`
installs them): without them it is skipped, except in CI (`CI=true`), where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import browser_binaries, browser_test_notice
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import site
from helpers.io import ARTIFACTS_DIR, REPO_ROOT
from helpers.run import discover

PROFILE = os.environ.get("SITE_PROFILE", "smoke")
LESSONS = discover()
SCREENSHOTS = ARTIFACTS_DIR / "site-check" / PROFILE
REMOTE_ASSET = re.compile(
    r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=\"https?://"
    r"|<link\b[^>]*\bhref=\"https?://"
    r"|url\(\s*['\"]?https?://"
    r"|@import\s+(?:url\()?['\"]?https?://", flags=re.I)


@pytest.fixture(scope="module")
def index() -> Path:
    """The built site's `index.html` (built once per module run)."""
    return site.build(PROFILE, run_missing=PROFILE != "full")


def _page(index: Path, lesson: Path) -> Path:
    return index.parent / "notebooks" / f"{lesson.stem}.html"


def _image_outputs(notebook: Path) -> int:
    nb = nbformat.read(notebook, as_version=4)
    return sum("image/png" in output.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs)


# Staging: unit checks on hand-made notebooks ------------------------------------------------------

def _lesson(path: Path, title: str, minutes: int, images: int = 0) -> Path:
    parameters = new_code_cell('profile = "full"', metadata={"tags": ["parameters"]})
    solution = new_code_cell("answer = 42", metadata={"tags": ["solution"],
                                                      "jupyter": {"source_hidden": True}})
    bookkeeping = new_code_cell("save()", metadata={"jupyter": {"source_hidden": True}},
                                outputs=[new_output("stream", name="stdout", text="\n"),  # an empty report
                                         new_output("stream", name="stdout", text="saved\n")])
    plot = new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": "iVBOR"})
                                            for _ in range(images)])
    nb = new_notebook(cells=[new_markdown_cell(f"# {title}\n\n*About {minutes} minutes: all of it.*"),
                             parameters, plot, solution, bookkeeping])
    nbformat.write(nb, path)
    return path


def test_staged_lessons_collapse_parameter_solution_and_hidden_cells(tmp_path) -> None:
    staged = tmp_path / "staged.ipynb"
    site.stage_notebook(_lesson(tmp_path / "00_demo.ipynb", "00 · Demo", 30, images=2), staged)
    cells = nbformat.read(staged, as_version=4).cells
    hidden = ["hide-input" in c.metadata.get("tags", []) for c in cells]
    assert hidden == [False, True, False, True, True]
    assert cells[3].metadata["tags"] == ["solution", "hide-input"]
    assert _image_outputs(staged) == 2
    assert [output.text for output in cells[4].outputs] == ["saved\n"]  # no empty box on the page


def test_a_smoke_run_that_checked_the_student_edition_is_staged_and_current_as_the_lesson(tmp_path) -> None:
    from helpers.student import STUDENT_STATE_TAG, with_student_state

    lesson = _lesson(tmp_path / "00_demo.ipynb", "00 · Demo", 30)
    both = with_student_state(nbformat.read(lesson, as_version=4))
    assert any(STUDENT_STATE_TAG in c.metadata.get("tags", []) for c in both.cells)
    nbformat.write(both, tmp_path / "executed.ipynb")
    assert site.is_current(lesson, tmp_path / "executed.ipynb")
    site.stage_notebook(tmp_path / "executed.ipynb", tmp_path / "staged.ipynb")
    staged = nbformat.read(tmp_path / "staged.ipynb", as_version=4)
    assert [c.source for c in staged.cells] == [c.source for c in nbformat.read(lesson, as_version=4).cells]


def test_every_lessons_bookkeeping_cell_is_collapsed_on_the_site() -> None:
    for lesson in LESSONS:
        cells = nbformat.read(lesson, as_version=4).cells
        bookkeeping = [c for c in cells if c.cell_type == "code" and c.source.startswith("# Bookkeeping")]
        assert bookkeeping and all(site.collapsed(cell) for cell in bookkeeping), lesson.stem


def test_lesson_map_links_each_lesson_with_its_times(tmp_path) -> None:
    first = _lesson(tmp_path / "00_demo.ipynb", "00 · Demo", 30)
    second = _lesson(tmp_path / "01_more.ipynb", "01 · More", 55)
    readme = "| [00 demo](notebooks/00_demo.ipynb) | what a demo is |\n"
    table = site.lesson_map([first, second], readme, {"00_demo": 20.7}).splitlines()
    assert table[0] == "| lesson | what you learn | in\u00a0class | full\u00a0run |"  # each on one line
    assert table[2] == "| [00 · Demo](notebooks/00_demo.ipynb) | what a demo is | 30\u00a0min | 21\u00a0s |"
    assert table[3] == "| [01 · More](notebooks/01_more.ipynb) |  | 55\u00a0min |  |"


def test_readme_describes_every_lesson() -> None:
    summaries = site.readme_summaries((REPO_ROOT / "README.md").read_text())
    assert set(summaries) == {lesson.stem for lesson in LESSONS}


def test_a_lesson_that_was_never_executed_is_an_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(site, "ARTIFACTS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"for: 00_\w+, 01_\w+.*Run `make figures` first"):
        site.executed_lessons("full")
    with pytest.raises(ValueError, match="profile must be one of"):
        site.site_dir("fast")


# The built site, as files -------------------------------------------------------------------------

def test_every_lesson_has_a_page_with_its_figures(index) -> None:
    staged = index.parents[1] / "source" / "notebooks"
    for lesson in LESSONS:
        html = _page(index, lesson).read_text()
        images = re.findall(r'<img [^>]*src="\.\./_images/([^"]+)"', html)
        assert len(images) == _image_outputs(staged / lesson.name) > 0, lesson.stem
        assert all((index.parent / "_images" / name).stat().st_size > 0 for name in images)
        assert "Traceback (most recent call last)" not in html
        assert 'class="output stderr' not in html, lesson.stem  # e.g. a library's UserWarning
        assert "PosixPath(" not in html, lesson.stem  # a cell ending in a call that returns a path


def test_sphinx_built_the_site_without_a_warning(index) -> None:
    assert site.warnings_path(PROFILE).read_text() == ""  # e.g. a missing image, a broken include


def test_nothing_is_loaded_from_the_network(index) -> None:
    files = [*index.parent.rglob("*.html"), *index.parent.glob("_static/**/*.css")]
    offenders = [str(path.relative_to(index.parent)) for path in files
                 if REMOTE_ASSET.search(path.read_text(errors="replace"))]
    assert not offenders
    assert REMOTE_ASSET.search('<script src="https://cdn.example/x.js">')  # the pattern can match
    math_pages = [p for p in index.parent.glob("notebooks/*.html") if 'class="math' in p.read_text()]
    assert math_pages  # the lessons have math, rendered by the local MathJax
    for page in math_pages:
        assert re.search(r'<script [^>]*src="\.\./_static/mathjax/tex-chtml\.js', page.read_text())
    assert (index.parent / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 0


def test_landing_and_data_pages_render_the_readme(index) -> None:
    landing = index.read_text()
    for lesson in LESSONS:
        assert f'href="notebooks/{lesson.stem}.html"' in landing
    assert "runs the whole series, rewrites figures/" in landing  # the two commands
    assert 'src="_images/homogeneity_profile.png"' in landing  # the headline figure
    assert (index.parent / "_images" / "homogeneity_profile.png").stat().st_size > 0
    staged = index.parents[1] / "source" / "notebooks"
    for lesson in LESSONS:  # the lesson map's time in class
        minutes = site.class_minutes(nbformat.read(staged / lesson.name, as_version=4))
        assert minutes and f"<td><p>{minutes}</p></td>" in landing
    if site.RUN_REPORT.exists():
        assert re.search(r"<td><p>\d+\u00a0s</p></td>", landing)  # "116 s" never splits
    data = (index.parent / "data.html").read_text()
    assert "MNIST (LeCun, Cortes &amp; Burges) ships" in data
    assert "tests/test_claims.py" in data
    assert "site:" not in data + landing  # the README's include markers stay out of the pages


# The built site, in a browser ---------------------------------------------------------------------

def _browser():
    """Headless Chromium under Selenium, with the system chromedriver (Selenium Manager never runs)."""
    chromium, driver_path = browser_binaries()
    reason = browser_test_notice()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test: {reason}.")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000",  # scrollbars stay: the screenshots show what a reader sees
                     "--host-resolver-rules=MAP * ~NOTFOUND"):  # no host resolves: the site must be offline
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


HAS_MATH = "return document.querySelector('span.math, div.math') !== null"
MATH_TYPESET = "return document.querySelectorAll('mjx-container').length > 0"
PAGE_STATE = """
const images = [...document.querySelectorAll('div.cell_output img')];
return {
  title: document.querySelector('article h1') ? document.querySelector('article h1').textContent : '',
  images: images.map(i => ({complete: i.complete, natural: i.naturalWidth,
                             shown: i.getBoundingClientRect().width})),
  errors: document.querySelectorAll('div.cell_output .output.traceback').length,
  math_errors: document.querySelectorAll('mjx-merror').length,
  next: document.querySelector('a.right-next') ? document.querySelector('a.right-next').href : null,
};
"""


LAYOUT = """
const article = document.querySelector('article.bd-article');
const right = article.getBoundingClientRect().right;
const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
const scroller = el => { for (let e = el.parentElement; e && e !== article; e = e.parentElement) {
  if (scrolls(e)) return e; } return null; };
const name = el => el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).split(' ')[0] : '');
const all = [...article.querySelectorAll('*')];
const boxes = all.filter(el => scrolls(el) && el.scrollWidth > el.clientWidth + 1);
const bar = el => el.offsetHeight - el.clientHeight - el.clientTop  // the scrollbar's height
  - parseFloat(getComputedStyle(el).borderBottomWidth);
return {
  cut: all.filter(el => el.getBoundingClientRect().right > right + 1 && scroller(el) === null).map(name),
  hidden_bars: boxes.filter(el => bar(el) < 6).map(name),
  scrolling: boxes.length,
  cramped: [...article.querySelectorAll('div.cell_output table.dataframe :is(th, td)')].filter(
    cell => parseFloat(getComputedStyle(cell).paddingLeft) < 4).length,
};
"""


def _check_layout(driver, page: str) -> dict:
    """Nothing sticks out of the article unseen: wider content scrolls, with a scrollbar one can see,
    and the cells of pandas' tables have room between them (no "19 0" read as "190")."""
    layout = driver.execute_script(LAYOUT)
    assert not layout["cut"], f"{page}: cut off at the right: {layout['cut'][:5]}"
    hidden = layout["hidden_bars"]
    assert not hidden, f"{page}: scrolls sideways without a scrollbar: {hidden[:5]}"
    assert layout["cramped"] == 0, f"{page}: {layout['cramped']} table cells without padding"
    return layout


def _wait(driver, condition, seconds: float = 20):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def test_browser_follows_the_navigation_to_every_lesson_and_sees_its_figures(index) -> None:
    from selenium.webdriver.common.by import By

    driver = _browser()
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    staged = index.parents[1] / "source" / "notebooks"
    try:
        driver.get(index.as_uri())
        _wait(driver, lambda d: d.execute_script("return document.readyState") == "complete")
        sidebar = driver.execute_script(
            "return [...document.querySelectorAll('nav.bd-docs-nav a.reference.internal')].map(a => a.href)")
        assert [_page(index, lesson).as_uri() for lesson in LESSONS] == sidebar[1:1 + len(LESSONS)]
        scrolling = _check_layout(driver, "index")["scrolling"]  # the two commands' line scrolls
        driver.save_screenshot(str(SCREENSHOTS / "index.png"))
        visited, typeset = [], []
        for lesson in LESSONS:  # from the landing page, "next" leads through every lesson in order
            driver.find_element(By.CSS_SELECTOR, "a.right-next").click()
            assert driver.current_url == _page(index, lesson).as_uri(), f"after {visited}"
            _wait(driver, lambda d: d.execute_script(
                "return document.readyState == 'complete' && "
                "[...document.images].every(i => i.complete)"))
            if driver.execute_script(HAS_MATH):  # MathJax, served from _static, typesets the math
                _wait(driver, lambda d: d.execute_script(MATH_TYPESET))
                typeset.append(lesson.stem)
            state = driver.execute_script(PAGE_STATE)
            assert state["title"].startswith(lesson.stem[:2]), state["title"]
            assert len(state["images"]) == _image_outputs(staged / lesson.name) > 0
            assert all(i["complete"] and i["natural"] > 0 and i["shown"] > 0 for i in state["images"]), state
            assert state["errors"] == 0 and state["math_errors"] == 0
            scrolling += _check_layout(driver, lesson.stem)["scrolling"]
            driver.execute_script("document.querySelector('div.cell_output img')"
                                  ".scrollIntoView({block: 'center'})")
            driver.save_screenshot(str(SCREENSHOTS / f"{lesson.stem}.png"))
            visited.append(lesson.stem)
        assert state["next"] == (index.parent / "data.html").as_uri()  # and the last one to the data page
        assert typeset  # some lessons have math, and it was typeset offline
        assert scrolling  # the layout check met wide content, and saw it scroll

        driver.get(f"{(index.parent / 'search.html').as_uri()}?q=homogeneity")
        _wait(driver, lambda d: d.execute_script(
            "return document.querySelectorAll('#search-results ul.search li').length") > 0)
        hits = driver.execute_script(
            "return [...document.querySelectorAll('#search-results ul.search li a')].map(a => a.href)")
        assert any(_page(index, lesson).as_uri() in hit for hit in hits for lesson in LESSONS), hits
        driver.save_screenshot(str(SCREENSHOTS / "search.png"))
    finally:
        driver.quit()
    assert {path.stem for path in SCREENSHOTS.glob("*.png")} == {"index", "search", *visited}
