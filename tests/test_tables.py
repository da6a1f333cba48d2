"""Every run as one table: runs_df / epochs_df / items_df (typed columns named after config keys,
values against the fixture runs) and `critpt-harness table` in each format."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest

from critpt_harness.analysis import epochs_df, items_df, runs_df
from critpt_harness.analysis.frames import pandas
from critpt_harness.config.report import ReportConfig
from critpt_harness.errors import ConfigError
from critpt_harness.report.data import load_run

from .conftest import run_cli
from .reading_runs import CORRECT_A, CORRECT_B, EPOCHS, OFFICIAL_A, PROBLEMS, cli, gold_id


def test_runs_df_has_one_typed_row_per_run_with_the_reports_label(graded_runs, official_runs):
    df = runs_df([graded_runs["A"], graded_runs["B"], official_runs["A"]])
    assert list(df["model"]) == ["model-a", "model-b", "mock"]
    for path, row in zip([graded_runs["A"], graded_runs["B"], official_runs["A"]], df.itertuples()):
        assert row.score_label == load_run(path, ReportConfig(plot=False)).provenance.label
    a, b, official = (df.iloc[i] for i in range(3))
    assert a["score_label"] == "LOCAL grading, 8 problems, private set" and not a["ranked"]
    assert official["score_label"] == "OFFICIAL grading, full public set (70 problems), CritPt v1" and official["ranked"]
    assert a["mean"] == pytest.approx(sum(CORRECT_A.values()) / (PROBLEMS * EPOCHS))
    assert official["mean"] == pytest.approx(sum(OFFICIAL_A) / len(OFFICIAL_A))
    assert json.loads(official["epoch_scores"]) == {str(e): x for e, x in enumerate(OFFICIAL_A)}
    # every identity setting is a column named by its config key
    assert a["model.name"] == "model-a" and bool(a["generation.use_python"]) and not bool(b["generation.use_python"])
    assert a["model.reasoning_effort"] == "high" and pd.isna(b["model.reasoning_effort"])
    assert a["set_version"] == "private set" and official["set_version"] == "v1"
    assert a["tool_calls"] == PROBLEMS * EPOCHS and b["tool_calls"] == 0
    assert a["reasoning_tokens"] > 0 and a["stage.graded"] == "local, 2/2 epochs"
    types = df.dtypes
    assert types["mean"] == "Float64" and types["ranked"] == "boolean" and types["items"] == "Int64"
    assert types["model"] == "string" and str(types["created_at"]).startswith("datetime64")
    assert types["generation.use_python"] == "boolean"


def test_epochs_df_and_items_df_hold_each_grading_and_item(graded_runs):
    epochs = epochs_df(graded_runs["A"])
    accuracy = [sum(1 for n in CORRECT_A if CORRECT_A[n] > e) / PROBLEMS for e in range(EPOCHS)]
    assert list(epochs["epoch"]) == [0, 1] and list(epochs["accuracy"]) == pytest.approx(accuracy)
    assert set(epochs["grading"]) == {"local"} and list(epochs["checks_passed"]) == [PROBLEMS] * EPOCHS
    items = items_df([graded_runs["A"], graded_runs["B"]])
    assert len(items) == 2 * PROBLEMS * EPOCHS
    for run, correct in (("model-a", CORRECT_A), ("model-b", CORRECT_B)):
        mine = items[items["model"] == run]
        for n, k in correct.items():
            verdicts = mine[mine["problem_id"] == gold_id(n)]["verdict"]
            assert (verdicts == "correct").sum() == k
    a = items[items["model"] == "model-a"]
    assert (a["tool_calls"] == 1).all() and (a["tool_seconds"] > 0).all() and (a["reasoning_tokens"] > 0).all()
    assert items["check.parses"].dtype == "boolean" and items["check.parses"].all()
    assert items["static_passed"].all() and (items["executed"] == "pass").all()
    assert str(items["started_at"].dtype).startswith("datetime64") and items["records"].eq(1).all()


def test_the_table_command_in_every_format(graded_runs, tmp_path, capsys, monkeypatch):
    args = [str(graded_runs["A"]), str(graded_runs["B"])]
    expected = items_df(args)
    out = run_cli("table", *args, "--level", "item", "--format", "csv", cwd=tmp_path)  # as a user runs it
    assert out.returncode == 0, out.stderr
    back = pd.read_csv(io.StringIO(out.stdout))
    assert list(back.columns) == list(expected.columns) and len(back) == len(expected)
    assert list(back["verdict"]) == list(expected["verdict"])
    monkeypatch.chdir(tmp_path)
    code, text, _ = cli(capsys, "table", *args, "--format", "json")
    data = json.loads(text)
    assert code == 0 and [r["model"] for r in data] == ["model-a", "model-b"] and data[0]["mean"] == pytest.approx(0.625)
    assert data[0]["path"] == args[0] and data[1]["ranked"] is False
    md = cli(capsys, "table", *args, "--format=markdown", "--level", "epoch")[1].splitlines()
    assert md[0].startswith("| run | path | model |") and len(md) == 2 + 2 * EPOCHS
    target = tmp_path / "out" / "items.parquet"
    code, text, _ = cli(capsys, "table", *args, "--level", "item", "--format", "parquet", "--output", str(target))
    assert code == 0 and f"written to {target}" in text
    parquet = pd.read_parquet(target)
    assert parquet["verdict"].tolist() == expected["verdict"].tolist()
    assert parquet["check.parses"].dtype == "boolean" and parquet["prompt_tokens"].dtype == "Int64"


def test_the_table_command_refuses_bad_options_with_exit_2(graded_runs, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = str(graded_runs["A"])
    for args, said in ((["--format", "xlsx"], "table.format='xlsx'"), (["--level", "problem"], "table.level"),
                       (["--format", "parquet"], "--output FILE.parquet"), (["--output"], "--output needs a value")):
        code, _, err = cli(capsys, "table", run, *args)
        assert code == 2 and said in err, (args, err)
    code, _, err = cli(capsys, "table", str(tmp_path / "nothing"))
    assert code != 0 and "does not exist" in err
    assert not (tmp_path / "runs").exists()  # a reader command makes no run folder


def test_without_pandas_the_table_says_which_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ConfigError, match=r"pip install 'critpt-harness\[tables\]'") as err:
        pandas()
    assert err.value.exit_code == 2


def test_importing_the_analysis_package_does_not_import_pandas():
    code = "import sys, critpt_harness.analysis, critpt_harness.analysis.summary; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_folders_of_runs_and_globs_name_the_run_folders_below_them(graded_runs, tmp_path):
    import shutil

    from critpt_harness.analysis.folders import find_runs
    from critpt_harness.errors import RunFolderError

    root = tmp_path / "runs"
    shutil.copytree(graded_runs["A"], root / "model-a" / "2026-01-01")
    shutil.copytree(graded_runs["B"], root / "model-b" / "2026-01-02")
    fake = root / "mlruns" / "1" / "abc" / "artifacts"  # MLflow keeps a copy of config.yaml: not a run folder
    fake.mkdir(parents=True)
    shutil.copy(graded_runs["A"] / "config.yaml", fake / "config.yaml")
    expected = [root / "model-a" / "2026-01-01", root / "model-b" / "2026-01-02"]
    assert find_runs([str(root)], "table.runs") == expected
    assert find_runs([str(root / "*")], "table.runs") == expected
    assert find_runs([str(root / "model-b" / "*"), str(root / "model-b")], "table.runs") == expected[1:]
    with pytest.raises(RunFolderError, match=r"table.runs: '.*nothing\*' matches no run folder"):
        find_runs([str(root / "nothing*")], "table.runs")
    assert list(runs_df(str(root))["model"]) == ["model-a", "model-b"]
