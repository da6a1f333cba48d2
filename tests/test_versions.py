"""CritPt versions as data: the shipped version files, a version added as one more file, the
labels and the resume check that follow a run's version, and a grader that has moved on."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from critpt_harness.config import DatasetConfig, identity
from critpt_harness.data import versions
from critpt_harness.data.sets import load_problems
from critpt_harness.errors import ConfigError, DatasetError, GraderError
from critpt_harness.provenance import PUBLIC_SET_SIZE, decide
from critpt_harness.runfiles import read_jsonl

from .fakes.files import FakeFileHost
from .fakes.grader import FakeGrader
from .synthetic import write_version_file
from .test_report import ACC, make_run, write_json

SHIPPED = Path(versions.__file__).parent / "versions"


@pytest.fixture
def v9(public_dir, tmp_path, monkeypatch):
    """A version added later: one new file (here in CRITPT_HARNESS_VERSIONS) describing the synthetic set."""
    folder = tmp_path / "more-versions"
    write_version_file(folder, "v9", public_dir)
    monkeypatch.setenv(versions.VERSIONS_ENV, str(folder))
    yield versions.get("v9")
    versions._all.cache_clear()


def test_the_shipped_versions_are_valid_and_v1_is_the_pinned_public_set():
    names = [v.name for v in versions.known_versions()]
    assert names == ["v1", "v2"] and versions.DEFAULT == "v1"
    v1, v2 = versions.get("v1"), versions.get("v2")
    assert len(v1.problem_ids or []) == PUBLIC_SET_SIZE == 70 and set(v1.problem_sha256) == set(v1.problem_ids or [])
    assert v1.github is not None and v1.github.commit.startswith("17c2545c") and len(v1.github.file_sha256) == 70
    assert v1.leaderboard and json.loads((SHIPPED.parent / v1.leaderboard).read_text())["version"] == "v1"
    # v2: known by name only; nothing pretends to know its problems
    assert not v2.known and v2.problem_sha256 == {} and v2.leaderboard is None and v2.huggingface.revision is None
    with pytest.raises(ConfigError, match="dataset.version='v7' is not a CritPt version this tool knows: use one of v1, v2"):
        versions.get("v7")


def test_the_real_public_set_is_v1_by_every_checksum(real_public_dir):
    problems = load_problems(DatasetConfig(path=str(real_public_dir)))
    assert problems.origin.version == "v1" and problems.origin.verified is True and problems.origin.differ == ()


def test_a_version_added_later_is_one_data_file(v9, public_dir, tmp_path):
    assert [v.name for v in versions.known_versions()] == ["v1", "v9", "v2"]  # by date; undated last
    mine = load_problems(DatasetConfig(version="v9", path=str(public_dir)))
    assert mine.origin.version == "v9" and mine.origin.verified is True
    # The same folder as v1: the ids are v1's, the text is not, so it is an unverified copy of v1.
    other = load_problems(DatasetConfig(version="v1", path=str(public_dir)))
    assert other.origin.verified is False and len(other.origin.differ) == 70
    # From its GitHub source, each file is checked against the new file's checksums.
    with FakeFileHost(public_dir) as host:
        got = load_problems(DatasetConfig(version="v9", url_template=host.url_template, cache_dir=str(tmp_path / "c")))
    assert got.origin.source == "github" and got.origin.verified is True and got.sha256 == mine.sha256


def test_a_version_whose_problems_are_unknown_is_used_only_unverified(public_dir):
    with pytest.raises(DatasetError, match="CritPt v2's problems are not known to this tool.*dataset.verify=false"):
        load_problems(DatasetConfig(version="v2", path=str(public_dir)))
    loose = load_problems(DatasetConfig(version="v2", path=str(public_dir), verify=False))
    assert loose.origin.version == "v2" and loose.origin.verified is False


def test_labels_say_which_version_and_whether_it_was_verified():
    results = {"epochs": {str(e): {"accuracy": a, "content_hash": f"h{e}", "source": "grader"}
                          for e, a in enumerate(ACC)}}
    on_v1 = decide({}, {"dataset": {"version": "v1", "verified": True, "size": 70}}, results, problems=70)
    assert on_v1.ranked and on_v1.label == "OFFICIAL grading, full public set (70 problems), CritPt v1"
    loose = decide({}, {"dataset": {"version": "v2", "verified": False, "revision": "0123456789abcdef" * 2 + "01234567",
                                    "size": 70}}, results, problems=70)
    assert not loose.ranked and loose.label.endswith("CritPt v2, unverified revision 0123456789ab")
    assert "not verified as CritPt v2" in loose.sentence()
    dry = decide({}, {"dataset": {"version": "v2", "verified": False, "size": 70}}, None, problems=70,
                 dry_run_requests=True)
    assert dry.label == "DRY RUN: nothing graded, CritPt v2, unverified copy"
    # N of M: M is the size of the run's own set, not a constant
    subset = decide({"dataset": {"limit": 5}}, {"dataset": {"version": "v9", "verified": True, "size": 80}},
                    results, problems=5)
    assert subset.label == "OFFICIAL grader, 5 problems, subset: 5 of 80, CritPt v9"
    # A run recorded before versions is on v1, and its labels read as before
    legacy = decide({}, {}, results, problems=70)
    assert legacy.label == "OFFICIAL grading, full public set (70 problems)" and legacy.on_version("v1")


def test_resuming_with_another_version_is_refused_but_another_source_is_not():
    stored = {"dataset": {"version": "v1", "source": "github", "revision": None}}
    assert identity.differences(stored, {"dataset": {"version": "v2", "source": "github"}}) == [
        ("dataset.version", "v1", "v2")]
    assert identity.differences(stored, {"dataset": {"version": "v1", "source": "huggingface",
                                                     "revision": "a" * 40}}) == []


def test_a_run_on_another_version_is_never_ranked_among_the_published_table(tmp_path):
    from critpt_harness.config.report import ReportConfig
    from critpt_harness.report.command import build_report

    run = make_run(tmp_path / "run", accuracies=ACC)
    manifest = json.loads((run / "manifest.json").read_text())
    write_json(run / "manifest.json", {**manifest, "dataset": {"version": "v9", "verified": True, "size": 70}})
    result = build_report([run], ReportConfig(formats=["md"], plot=False))
    md = (run / "report.md").read_text()
    assert "OFFICIAL grading, full public set (70 problems), CritPt v9" in md
    assert "Not placed: this run is on CritPt v9, and the official table was made on CritPt v1" in md
    assert "places **" not in md and all(e.kind != "run" for e in result.entries)
    assert ", on CritPt v1." in md  # the table says which version its scores were made on


def test_the_manifest_records_the_version_and_where_the_set_came_from(v9, public_dir, tmp_path):
    from critpt_harness.commands.generate import cmd_generate
    from critpt_harness.runs import RunFolder

    from .conftest import make_config

    run = RunFolder(tmp_path / "run")
    lines = []
    cmd_generate(make_config("dataset.version=v9", f"dataset.path={public_dir}", f"run_dir={run.path}",
                             "generation.epochs=1", "dataset.limit=2"), run, lines.append)
    dataset = run.manifest()["dataset"]
    assert dataset["version"] == "v9" and dataset["source"] == "path" and dataset["verified"] is True
    assert dataset["size"] == 70 and dataset["location"] == str(public_dir)
    assert lines[0].startswith("problems: a SUBSET: 2 of 70 from ") and lines[0].endswith(", CritPt v9")


# -- the grader has moved on --------------------------------------------------------------------------
KEY = "grader-key"


@pytest.fixture
def assembled(public_dir, tmp_path, monkeypatch):
    """A mock-model run of the default version (v1 ids), one epoch assembled."""
    from critpt_harness.commands.batches import cmd_assemble
    from critpt_harness.commands.generate import cmd_generate
    from critpt_harness.runs import RunFolder

    from .conftest import make_config

    monkeypatch.setenv("FAKE_GRADER_KEY", KEY)
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                      "generation.progress=false", "checks.execute=false")
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    cmd_assemble(cfg, run, echo=lambda s: None)
    return run


def _submit(grader, run, tmp_path):
    from .test_submit import evaluator, submit

    return submit(evaluator(grader, tmp_path), run)


def test_a_grader_on_another_version_is_explained_once_refunded_and_not_retried(assembled, tmp_path):
    moved = [i for i in versions.PUBLIC_IDS if i not in ("Challenge_3_main", "Challenge_4_main")]
    with FakeGrader(api_key=KEY, ids=tuple(moved + ["Challenge_71_main", "Challenge_72_main"])) as grader:
        with pytest.raises(GraderError) as info:
            _submit(grader, assembled, tmp_path)
    text = str(info.value)
    assert len(grader.requests) == 1  # not retried
    assert ("names 2 problem(s) it expects that this batch lacks (Challenge_71_main, Challenge_72_main); 2 problem(s) "
            "of this batch it does not know (Challenge_3_main, Challenge_4_main)") in text
    assert "seems to grade another CritPt version than this run's (CritPt v1, 70 problems)" in text
    assert ("`critpt-harness data pull dataset.version=v2 dataset.source=huggingface dataset.revision=main "
            "dataset.verify=false`") in text
    ledger = [e for e in read_jsonl(tmp_path / "ledger.jsonl", versioned=True) if e.get("state") == "refunded"]
    assert len(ledger) == 1 and ledger[0]["reason"].startswith("the grader's problem set differs from the batch "
                                                               "(lacks 2: Challenge_71_main, Challenge_72_main")


def test_a_plain_bad_request_keeps_its_own_advice(assembled, tmp_path):
    from .fakes.base import Fault

    with FakeGrader(api_key=KEY) as grader:
        grader.inject(Fault(400, body={"error": "Invalid request body"}))
        with pytest.raises(GraderError, match="covers all public problems") as info:
            _submit(grader, assembled, tmp_path)
    assert "another CritPt version" not in str(info.value) and len(grader.requests) == 1


# -- data pull / data list: nodes without a network ------------------------------------------------------
def test_data_pull_into_a_folder_then_a_run_there_with_no_host_at_all(v9, public_dir, tmp_path, monkeypatch):
    """GitHub source and the official prompt files (the tests' stand-in text) pulled into a folder; the
    run the printed line describes then completes with both hosts gone."""
    from critpt_harness.commands.data import cmd_data
    from critpt_harness.commands.run import cmd_run
    from critpt_harness.data import official_prompts
    from critpt_harness.runs import RunFolder

    from .conftest import make_config
    from .test_official_prompts import FIXTURE, FIXTURE_SUMS

    monkeypatch.setattr(official_prompts, "FILES", dict(FIXTURE_SUMS))
    shared = tmp_path / "shared"
    lines: list = []
    with FakeFileHost(public_dir) as problems, FakeFileHost(FIXTURE) as prompts:
        cfg = make_config("data.action=pull", f"data.dir={shared}", "dataset.version=v9",
                          f"dataset.url_template='{problems.url_template}'", f"prompts.url_template='{prompts.root}/{{path}}'")
        cmd_data(cfg, RunFolder(tmp_path / "unused"), lines.append)
    line = lines[-1].strip()
    folder = shared / "critpt-v9"
    pulled_prompts = official_prompts.cache_folder(replace(cfg.prompts, cache_dir=str(shared)))
    assert line == (f"CRITPT_HARNESS_OFFLINE=1 critpt-harness run dataset.version=v9 dataset.path={folder} "
                    f"prompts.path={pulled_prompts}")
    assert len(list(folder.glob("Challenge_*.json"))) == 70
    assert json.loads((folder / "critpt-source.json").read_text())["version"] == "v9"
    overrides = line.split(" critpt-harness run ")[1].split()
    run = RunFolder(tmp_path / "node-run")
    cmd_run(make_config(*overrides, f"run_dir={run.path}", "generation.epochs=1", "generation.progress=false",
                        "checks.execute=false", "catalog.enabled=false"), run, lambda s: None)
    manifest = run.manifest()
    assert manifest["dataset"]["version"] == "v9" and manifest["dataset"]["verified"] is True
    assert manifest["dataset"]["revision"] is None and manifest["prompts"]["source"] == "official"
    assert "CritPt v9" in (run.path / "report.md").read_text()


def test_a_pulled_line_runs_as_printed_from_a_shell_with_a_templated_url(v9, public_dir, tmp_path):
    """The printed command is pasted into a shell: its values are quoted for Hydra and for the shell
    (a URL template's braces, a folder with a space), so the overrides arrive as pulled."""
    import shlex

    from critpt_harness.commands.data import cmd_data
    from critpt_harness.runs import RunFolder

    from .conftest import make_config

    cache = tmp_path / "a cache"
    lines: list = []
    with FakeFileHost(public_dir) as problems:
        cmd_data(make_config("data.action=pull", "data.prompts=false", "dataset.version=v9", f"dataset.cache_dir='{cache}'",
                             f"dataset.url_template='{problems.url_template}'"), RunFolder(tmp_path / "unused"), lines.append)
    words = shlex.split(lines[-1].strip())
    assert words[0] == "CRITPT_HARNESS_OFFLINE=1" and words[1:3] == ["critpt-harness", "run"]
    cfg = make_config(*words[3:])
    assert cfg.dataset.url_template == problems.url_template and cfg.dataset.cache_dir == str(cache)
    assert cfg.dataset.version == "v9"


def test_data_list_shows_the_versions_and_what_is_cached(v9, public_dir, tmp_path):
    from critpt_harness.commands.data import cmd_data
    from critpt_harness.runs import RunFolder

    from .conftest import make_config

    with FakeFileHost(public_dir) as host:
        load_problems(DatasetConfig(version="v9", url_template=host.url_template))
        lines: list = []
        cmd_data(make_config("data.action=list", "dataset.version=v9", f"dataset.url_template='{host.url_template}'"),
                 RunFolder(tmp_path / "unused"), lines.append)
    text = "\n".join(lines)
    assert lines[0] == "CritPt versions (* = dataset.version=v9):"
    assert "* v9   CritPt v9 (synthetic) (70 problems;" in text and "  v2   CritPt v2" in text
    assert "GitHub ffffffffffff: 70 of 70 files cached in " in text and ", verified" in text
    assert "problems not known to this tool" in text and "official prompt text: not cached" in text


def test_the_dataset_keys_that_contradict_each_other_are_named():
    from .conftest import make_config

    assert make_config("dataset=huggingface", "dataset.revision=main").dataset.source == "huggingface"
    for overrides, message in ((["dataset.source=zenodo"], "dataset.source='zenodo': use one of github, huggingface, path"),
                               (["dataset.revision=main"], "dataset.revision=main is a Hugging Face revision"),
                               (["dataset.source=path"], "dataset.source=path needs dataset.path"),
                               (["dataset=huggingface", "dataset.path=x"], "dataset.path=x and dataset.source=huggingface")):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            make_config(*overrides)
