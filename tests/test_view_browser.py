"""The viewer in a real browser: headless Chromium (Debian's, /usr/bin/chromium; `.ci/run` installs
it where it can) driven by Playwright opens the runs page, a run, an item with a tool call and
LaTeX, and two runs side by side, and checks what a person sees: the text, the grid's cells,
formulas drawn as MathML, no console error and no request leaving 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from critpt_harness.config.reading import ViewConfig
from critpt_harness.config.report import ReportConfig
from critpt_harness.view.serve import serve_viewer

from .reading_runs import CORRECT_A, EPOCHS, PROBLEMS

CHROMIUM = os.environ.get("CRITPT_CHROMIUM", "/usr/bin/chromium")
# As the machine notes advise for headless Chromium as root on a closed network.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

playwright = pytest.importorskip("playwright.sync_api", reason="needs Playwright (pip install -e '.[test]')")
if not Path(CHROMIUM).exists():
    pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it where it can)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def viewer(graded_runs, official_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("browse") / "runs"
    for name, path in (("a", graded_runs["A"]), ("b", graded_runs["B"]), ("first", official_runs["A"]),
                       ("second", official_runs["B"])):
        shutil.copytree(path, root / name)
    stop, box = threading.Event(), {}
    cfg = SimpleNamespace(view=ViewConfig(runs=[str(root)], port=0), report=ReportConfig())
    thread = threading.Thread(target=serve_viewer, args=(cfg,), daemon=True,
                              kwargs={"stop": stop, "ready": lambda s: box.setdefault("server", s),
                                      "echo": lambda line: None})
    thread.start()
    deadline = time.monotonic() + 60
    while "server" not in box and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    assert "server" in box, "the viewer did not start"
    yield box["server"].root
    stop.set()
    thread.join(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with playwright.sync_playwright() as p:
        profile = tmp_path_factory.mktemp("chromium-profile")
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=ARGS,
                                                       headless=True, viewport={"width": 1400, "height": 900})
        yield context
        context.close()


@pytest.fixture
def page(browser, viewer):
    tab = browser.new_page()
    problems, outside = [], []
    tab.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
           else None)
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    tab.on("request", lambda r: None if r.url.startswith(viewer + "/") else outside.append(r.url))
    yield tab
    tab.close()
    assert not problems, problems
    assert not outside, f"requests that left {viewer}: {outside}"


def test_runs_page_then_a_run_then_an_item(page, viewer):
    page.goto(viewer + "/")
    body = page.inner_text("body")
    assert "4 of 4 run folder(s)" in body
    assert "LOCAL grading, 8 problems, private set" in body and "OFFICIAL grading, full public set (70 problems), CritPt v1" in body
    page.click("table.runs >> text=model-a")
    assert page.inner_text("h1") == "Run: model-a"
    grid = page.locator("table.grid a.cell")
    assert grid.count() == PROBLEMS * EPOCHS
    assert page.locator("table.grid .cell.correct").count() == sum(CORRECT_A.values())
    # the colours a person sees: green for correct, red for not
    assert page.locator("table.grid .cell.correct").first.evaluate("e => getComputedStyle(e).backgroundColor") == \
        "rgb(45, 164, 78)"
    page.locator("table.grid tr", has_text="Gold_4_main").locator("a.cell").nth(1).click()
    assert page.inner_text("h1").startswith("Gold_4_main, epoch 1")
    text = page.inner_text("body")
    assert "python call" in text and "print(6 * 7)" in text and "exit code 0" in text and "isolation:" in text
    assert "formatting turn" in text and "Mock reasoning" in text and "local verdict\nincorrect" in text
    # TeX drawn as MathML by the browser: the question's \hbar\omega_4 and the reply's fraction
    formulas = page.locator("section.msg math")
    assert formulas.count() >= 3
    box = formulas.first.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 5
    assert page.locator("section.msg mfrac").count() >= 1
    assert page.locator("table.diff tr.changed").count() >= 1  # the filled line beside the template


def test_two_runs_side_by_side(page, viewer):
    page.goto(viewer + "/")
    page.select_option("form[action='/compare'] select[name=a]", label="model-a")
    page.select_option("form[action='/compare'] select[name=b]", label="model-b")
    page.click("form[action='/compare'] button")
    text = page.inner_text("body")
    assert "model-a and model-b" in page.inner_text("h1")
    assert "correct in the local grading" in text and "+25.00" in text and "0.375" in text
    assert page.locator("table.pairs tbody tr").count() == PROBLEMS
    page.goto(viewer + "/compare")
    page.select_option("form[action='/compare'] select[name=a]", label="mock (first)")
    page.select_option("form[action='/compare'] select[name=b]", label="mock (second)")
    page.click("form[action='/compare'] button")
    text = page.inner_text("body")
    assert "Per-problem correctness needs local grading" in text and "Welch" in text
    assert "mean 10.00%, 95% interval" in text
