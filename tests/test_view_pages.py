"""The viewer's pages and JSON without a browser (Starlette's test client), and the `view` command
as a user starts it: the runs, a run's grid, an item's conversation, two runs side by side; a run
in progress; hostile model text; nothing written to the run folders."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import httpx
import pytest
from starlette.testclient import TestClient

from critpt_harness.analysis.summary import load, run_row
from critpt_harness.view.app import make_app
from critpt_harness.view.index import Library
from critpt_harness.view.markup import markdown, tex

from .reading_runs import CORRECT_A, EPOCHS, PROBLEMS, gold_id


def client(*folders: Path) -> TestClient:
    return TestClient(make_app(Library([str(f) for f in folders])))


def ids(c: TestClient) -> Dict[str, str]:
    return {r["model"] if r["model"] != "mock" else Path(r["path"]).name: r["id"] for r in c.get("/api/runs").json()}


def runs_table(html: str) -> str:
    return html.split('<table class="runs">')[1].split("</table>")[0]


def cells(html: str):
    return re.findall(r'class="cell ([a-z-]+)"', html.split('<table class="grid">')[1])


def test_the_runs_page_lists_each_run_with_the_reports_label(graded_runs, official_runs):
    c = client(graded_runs["A"], graded_runs["B"], official_runs["A"])
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("default-src 'none'")
    for path in (graded_runs["A"], official_runs["A"]):
        row = run_row(load(path))
        assert f"<td>{row.score_label}</td>" in page.text  # the report's label, exactly
    assert "62.50% (" in page.text and "private set" in page.text and "model-b" in page.text
    only_local = c.get("/", params={"grading": "local"}).text
    assert "model-a" in only_local and "OFFICIAL grading" not in runs_table(only_local)
    assert "2 of 3 run folder(s)" in only_local
    found = c.get("/", params={"q": "model-b"}).text
    assert "1 of 3 run folder(s)" in found and ">model-a<" not in runs_table(found)
    by_score = runs_table(c.get("/", params={"sort": "score", "desc": "1"}).text)
    assert by_score.index(">model-a<") < by_score.index(">model-b<") < by_score.index(">mock<")


def test_runs_being_indexed_in_the_background_are_listed_and_their_own_pages_do_not_wait(graded_runs):
    """Large runs take seconds to index: the server answers at once, the runs page lists a run still
    being indexed as such (and reloads), and a run's own page indexes that run without waiting."""
    lib = Library([str(graded_runs["A"]), str(graded_runs["B"])])
    a, b = lib.found()
    c = TestClient(make_app(lib))
    with b.lock:  # the indexer is held at B (it indexes A first, then waits here)
        lib.index_in_background()
        page = c.get("/").text
        assert "1 of 2 run folder(s); 1 still being indexed" in page and 'http-equiv="refresh"' in page
        assert "indexing …" in runs_table(page) and ">model-a<" in runs_table(page) and a.ready and not b.ready
        assert "LOCAL grading" in c.get("/run", params={"run": a.id}).text  # an indexed run's page: at once
    assert lib.indexed.wait(30)
    page = c.get("/").text
    assert "2 of 2 run folder(s)." in page and "indexing …" not in page and ">model-b<" in runs_table(page)


def test_the_run_page_is_the_problem_by_epoch_grid(graded_runs):
    c = client(graded_runs["A"])
    run = ids(c)["model-a"]
    page = c.get("/run", params={"run": run}).text
    grid = cells(page)
    assert len(grid) == PROBLEMS * EPOCHS
    assert grid.count("correct") == sum(CORRECT_A.values()) and grid.count("wrong") == 16 - sum(CORRECT_A.values())
    assert f'href="/item?run={run.replace("/", "%2F")}&amp;p={gold_id(1)}&amp;e=0"' in page
    assert "LOCAL grading, 8 problems, private set" in page and "python tool:" in page  # where model code ran
    data = c.get("/api/run", params={"run": run}).json()
    assert data["problems"] == [gold_id(n) for n in range(1, PROBLEMS + 1)] and data["epochs"] == [0, 1]
    assert sum(i["verdict"] == "correct" for i in data["items"]) == sum(CORRECT_A.values())


def test_the_item_page_shows_the_conversation_as_the_model_saw_it(graded_runs):
    c = client(graded_runs["A"])
    run = ids(c)["model-a"]
    page = c.get("/item", params={"run": run, "p": gold_id(4), "e": 1}).text
    for title in ("system prompt", "question", "formatting turn", "model, turn 1", "model, turn 2"):
        assert title in page, title
    assert page.count("<math") >= 3  # the question's and the reply's TeX, as MathML
    assert "<mi>ℏ</mi>" in page and "reasoning</summary>" in page and "Mock reasoning" in page
    assert "python call" in page and "print(6 * 7)" in page and "exit code 0" in page and "isolation:" in page
    assert "output, as the model saw it" in page and "42" in page
    assert 'class="diff"' in page and "x = 4.5" in page  # epoch 1 of problem 4: the wrong answer, beside the template
    from html import escape

    from critpt_harness.runfiles import read_json
    from critpt_harness.runs import RunFolder

    executed = (read_json(RunFolder(graded_runs["A"]).checks_file(1)).get("execution") or {}).get(gold_id(4))
    if executed:  # the execution check of that answer, where a sandbox ran it
        assert f"<code>{escape(str(executed.get('returned')))}</code>" in page and "network blocked" in page
    assert "local verdict" in page and "incorrect" in page
    record = c.get("/api/item", params={"run": run, "p": gold_id(4), "e": 1}).json()
    assert record["problem_id"] == gold_id(4) and record["epoch"] == 1 and record["tool_calls"][0]["code"]
    assert c.get("/item", params={"run": run, "p": "Nope", "e": 0}).status_code == 404
    assert c.get("/item", params={"run": run, "p": gold_id(1), "e": "x"}).status_code == 404


def test_two_runs_side_by_side(graded_runs, official_runs):
    c = client(graded_runs["A"], graded_runs["B"], official_runs["A"], official_runs["B"])
    runs = ids(c)
    page = c.get("/compare", params={"a": runs["model-a"], "b": runs["model-b"]}).text
    assert "correct in the local grading" in page and "+25.00" in page and "0.375" in page
    assert "Per problem: correct in the local grading" in page and page.count("<td>A better</td>") == 3 and page.count("<td>B better</td>") == 1
    official = c.get("/compare", params={"a": runs["first"], "b": runs["second"]}).text
    assert "Per-problem correctness needs local grading" in official
    assert "Welch" in official and "95% interval" in official and "Scores per epoch" in official
    assert "Choose two runs" in c.get("/compare").text


def test_unknown_runs_and_other_methods_are_refused(graded_runs):
    c = client(graded_runs["A"])
    assert c.get("/run", params={"run": str(graded_runs["B"])}).status_code == 404  # not given: never opened
    assert c.get("/run", params={"run": "../../etc"}).status_code == 404
    assert c.post("/").status_code == 405
    assert c.get("/static/viewer.css").headers["content-type"].startswith("text/css")


def _snapshot(folder: Path):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def test_the_viewer_writes_nothing_into_run_folders(graded_runs):
    before = {k: _snapshot(p) for k, p in graded_runs.items()}
    c = client(graded_runs["A"], graded_runs["B"])
    runs = ids(c)
    for path in ("/", "/api/runs", "/compare"):
        c.get(path, params={"a": runs["model-a"], "b": runs["model-b"]})
    for run in runs.values():
        c.get("/run", params={"run": run})
        for n in range(1, PROBLEMS + 1):
            c.get("/item", params={"run": run, "p": gold_id(n), "e": 0})
    assert {k: _snapshot(p) for k, p in graded_runs.items()} == before


def test_a_run_in_progress_shows_new_records_without_a_restart(graded_runs, tmp_path):
    run = tmp_path / "runs" / "going"
    shutil.copytree(graded_runs["B"], run)
    for name in ("local_grades.json", "results.json"):
        (run / name).unlink(missing_ok=True)
    shutil.rmtree(run / "batches")
    lines = (run / "generations.jsonl").read_bytes().splitlines(keepends=True)
    (run / "generations.jsonl").write_bytes(b"".join(lines[:5]))
    c = client(run)
    rid = ids(c)["model-b"]
    first = c.get("/run", params={"run": rid}).text
    assert cells(first).count("generated") == 5 and '<meta http-equiv="refresh"' in first
    assert "generating" in c.get("/").text
    with (run / "generations.jsonl").open("ab") as f:  # two more records, the second one half written
        f.write(lines[5] + lines[6][:40])
    assert cells(c.get("/run", params={"run": rid}).text).count("generated") == 6
    with (run / "generations.jsonl").open("ab") as f:
        f.write(lines[6][40:] + b"".join(lines[7:]))
    done = c.get("/run", params={"run": rid}).text
    assert cells(done).count("generated") == PROBLEMS * EPOCHS and '<meta http-equiv="refresh"' not in done
    # a run folder made after the viewer started appears too
    below = client(tmp_path / "runs")
    assert len(below.get("/api/runs").json()) == 1
    shutil.copytree(graded_runs["A"], tmp_path / "runs" / "later")
    assert {r["model"] for r in below.get("/api/runs").json()} == {"model-a", "model-b"}


HOSTILE = ("Look: <script>alert(1)</script> <img src=http://198.51.100.7/x.png> ![pic](http://198.51.100.7/y.png) "
           "[link](javascript:alert(1)) $\\text{<script>alert(2)</script>}\\href{javascript:alert(3)}{x}"
           "\\style{background:url(http://198.51.100.7/z)}{y}$ and \\(a < b & c\\)")


def test_hostile_model_text_stays_text(graded_runs, tmp_path):
    run = tmp_path / "hostile"
    shutil.copytree(graded_runs["B"], run)
    path = run / "generations.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[0]["messages"][2]["content"] = HOSTILE
    records[0]["reasoning"] = [HOSTILE, None]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    c = client(run)
    page = c.get("/item", params={"run": ids(c)["model-b"], "p": records[0]["problem_id"],
                                  "e": records[0]["epoch"]}).text
    assert "<script" not in page and "<img" not in page and "javascript:" not in page.replace("(javascript:", "")
    assert "198.51.100.7" not in re.sub(r">[^<]*<", "><", page)  # only in text, never in an attribute
    assert "href=\"javascript" not in page and "style=" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_markup_renders_markdown_and_tex_safely():
    out = markdown("**bold** $E=mc^2$ and $$\\frac{a}{b}$$ and \\[x^2\\] but $5 and $6; `code <b>`")
    assert "<strong>bold</strong>" in out and out.count("<math") == 3 and "$5 and $6" in out
    assert "<code>code &lt;b&gt;</code>" in out
    assert tex("x^{") == '<code class="tex" title="TeX not converted">x^{</code>'
    assert "<mtext>" in tex("\\text{<b>hi</b>}") and "<b>" not in tex("\\text{<b>hi</b>}")


def test_the_view_command_prints_its_url_and_serves_until_stopped(graded_runs, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "critpt_harness", "view", str(graded_runs["A"]), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            found = re.search(r"open (http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        assert url, proc.stderr.read() if proc.poll() is not None else "no URL printed"
        assert "model-a" in httpx.get(url, timeout=10).text
        assert httpx.get(url + "run", params={"run": str(graded_runs["A"])}, timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    assert not (tmp_path / "runs").exists()  # no run folder made for a reader command


@pytest.mark.parametrize("args, said", [(["--port", "99999"], "view.port=99999"), (["--port"], "--port needs a value"),
                                        (["nowhere"], "does not exist")])
def test_the_view_command_refuses_bad_options(graded_runs, tmp_path, capsys, monkeypatch, args, said):
    from .reading_runs import cli

    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "view", *([str(graded_runs["A"])] if args[0] != "nowhere" else []), *args)
    assert code != 0 and said in err, err
