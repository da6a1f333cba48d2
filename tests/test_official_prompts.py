"""The official prompt text: downloaded, verified, cached, rendered; and what happens without it.

The official files are never in this repository (no licence): a fixture with the same structure
and our own wording stands in for them (tests/fixtures/official_prompts), served from loopback.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest

from critpt_harness.retry import RetryConfig

from critpt_harness.data import official_prompts
from critpt_harness.generation import prompts
from critpt_harness.config import PromptsConfig
from critpt_harness.errors import PromptsError
from critpt_harness.generation.records import latest_records
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.config.report import ReportConfig
from critpt_harness.report.data import load_run
from critpt_harness.report.sections import _run_table
from critpt_harness.runs import RunFolder
from tests.fakes.base import Fault
from tests.fakes.files import FakeFileHost

from .conftest import make_config, run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "official_prompts"
FIXTURE_SUMS = {name: hashlib.sha256((FIXTURE / name).read_bytes()).hexdigest() for name in official_prompts.FILES}

TWO_STEP = (
    'You help with hard physics questions.\n\n**Rules**\n\n'
    '1. **Work** - Write out each step.  Cite the laws or identities used.\n'
    '2. **Result** - Close with a line "Result:".\n\n    Numbers:\n    - keep 9 digits. \n\n'
    '3. **Format** - Use the format the user asks for.'
)
ONE_STEP_ITEM = "3. **Template** - Fill the code template given after the problem. "
CODE = 'import sympy\nx = sympy.Symbol("x")\n\ndef answer(x):\n    r"""{{ not jinja }} {% raw %} $\\alpha$"""\n    y = ...\n    return y\n'


@pytest.fixture
def fixture_sums(monkeypatch):
    """The tool checks the fixture files against their own checksums instead of the official ones."""
    monkeypatch.setattr(official_prompts, "FILES", dict(FIXTURE_SUMS))


def fixture_text() -> official_prompts.OfficialText:
    return official_prompts.OfficialText.parse({n: (FIXTURE / n).read_bytes() for n in FIXTURE_SUMS}, "fixture")


def test_the_shipped_checksums_name_the_pinned_commit():
    pinned = json.loads((Path(official_prompts.__file__).parent / "official_prompts.json").read_text())
    assert pinned["commit"] in PromptsConfig().url_template
    assert set(pinned["files"]) == {official_prompts.TEMPLATE_FILE, official_prompts.BUILDER_FILE}


def test_two_step_system_prompt_renders_every_referenced_key():
    # Folded YAML scalars, `indent(4)`, a numeric PROMPT_SPECS_ leaf, {{"\n"}}, and Jinja's
    # removal of one trailing newline per rendered key: exactly as the official renderer does.
    assert fixture_text().system_prompt(False) == TWO_STEP


def test_one_step_takes_the_other_branch():
    text = fixture_text()
    one = text.system_prompt(True)
    assert one.startswith(TWO_STEP.rsplit("3. ", 1)[0]) and one.endswith(ONE_STEP_ITEM)
    assert "**Format**" not in one


def test_python_variant_replaces_one_phrase_and_web_appends_its_sentence_three_times():
    text = fixture_text()
    for parsing in (False, True):
        base = text.system_prompt(parsing)
        py = text.system_prompt(parsing, use_python=True)
        assert py == base.replace("Cite the laws or identities used.", "Cite the laws, identities or code runs used.")
        assert py != base
        web = text.system_prompt(parsing, use_web_search=True)
        assert web == base + "\nSearch the web first." * 3
        both = text.system_prompt(parsing, use_python=True, use_web_search=True)
        assert both == py + "\nSearch the web first." * 3


def test_parse_turn_inserts_the_template_verbatim_in_a_fence():
    turn = fixture_text().parse_turn(CODE)
    assert turn == f"Copy your result into this template; formatting only.\n```python\n{CODE}\n```"


def test_official_user_turn_is_the_problem_alone_in_both_protocols():
    official = prompts.PromptSet(source="official", hash="h", official=fixture_text())
    for parsing in (False, True):
        assert official.first_turn("The problem.", CODE, parsing) == "The problem."
    assert CODE in prompts.OWN.first_turn("The problem.", CODE, True)  # the paraphrase attaches it


def test_download_verifies_and_caches_then_works_without_the_host(fixture_sums, tmp_path):
    with FakeFileHost(FIXTURE) as host:
        host.inject(Fault(503))  # transient failures are retried
        cfg = PromptsConfig(url_template=host.root + "/{path}", cache_dir=str(tmp_path / "cache"))
        first = official_prompts.load(cfg)
        paths = sorted(r.path for r in host.requests)
    assert len(paths) == 3 and set(paths) == {"/" + n for n in FIXTURE_SUMS}  # one retried
    assert first.system_prompt(False) == TWO_STEP
    cached = sorted(p.relative_to(official_prompts.cache_folder(cfg)).as_posix()
                    for p in official_prompts.cache_folder(cfg).rglob("*") if p.is_file())
    assert cached == sorted(FIXTURE_SUMS)
    again = official_prompts.load(cfg)  # the host is gone: the cache serves
    assert again.digest == first.digest


def test_a_damaged_cache_is_downloaded_again(fixture_sums, tmp_path):
    with FakeFileHost(FIXTURE) as host:
        cfg = PromptsConfig(url_template=host.root + "/{path}", cache_dir=str(tmp_path / "cache"))
        official_prompts.load(cfg)
        cached = official_prompts.cache_folder(cfg) / official_prompts.TEMPLATE_FILE
        cached.write_text("SYSTEM_PROMPT: edited\n")
        assert official_prompts.load(cfg).system_prompt(False) == TWO_STEP
        assert len(host.requests) == 3


def test_a_checksum_mismatch_is_refused_and_not_cached(tmp_path):
    # The fixture is not the official text: against the shipped checksums it does not verify.
    with FakeFileHost(FIXTURE) as host:
        cfg = PromptsConfig(url_template=host.root + "/{path}", cache_dir=str(tmp_path / "cache"))
        with pytest.raises(PromptsError) as info:
            official_prompts.load(cfg)
    message = str(info.value)
    assert "does not match the official CritPt prompt file" in message
    assert "prompts.source=own" in message and "prompts.path" in message
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_offline_stops_unless_own_and_the_mock_model_falls_back_with_a_notice(tmp_path, caplog):
    cfg = PromptsConfig(cache_dir=str(tmp_path / "cache"))  # the real GitHub URL; CRITPT_HARNESS_OFFLINE=1
    with pytest.raises(PromptsError, match="CRITPT_HARNESS_OFFLINE is set.*prompts.source=own"):
        prompts.load(cfg)
    dead = PromptsConfig(url_template="http://127.0.0.1:9/{path}", cache_dir=str(tmp_path / "c2"),
                         retry=RetryConfig(max_attempts=1))
    with pytest.raises(PromptsError, match="you may be offline.*prompts.path=.*prompts.source=own"):
        prompts.load(dead)
    with caplog.at_level(logging.WARNING):
        chosen = prompts.load(dead, mock=True)
    assert chosen is prompts.OWN
    notices = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(notices) == 1 and "model=mock" in notices[0] and "\n" not in notices[0]
    assert prompts.load(PromptsConfig(source="own", url_template="http://127.0.0.1:9/{path}")) is prompts.OWN


def test_prompts_path_reads_a_local_clone(fixture_sums, tmp_path):
    clone = tmp_path / "CritPt"
    shutil.copytree(FIXTURE, clone)
    for folder in (clone / "templates", clone):  # its templates/ folder, or the clone itself
        text = official_prompts.load(PromptsConfig(path=str(folder), url_template="http://127.0.0.1:9/{path}"))
        assert text.system_prompt(False) == TWO_STEP
    (clone / official_prompts.BUILDER_FILE).write_text("def build_system_prompt(): pass\n")
    with pytest.raises(PromptsError, match="does not match"):
        official_prompts.load(PromptsConfig(path=str(clone / "templates")))
    with pytest.raises(PromptsError, match="not a directory"):
        official_prompts.load(PromptsConfig(path=str(tmp_path / "nowhere")))


def test_a_run_uses_the_official_text_and_records_it(fixture_sums, public_dir, tmp_path):
    with FakeFileHost(FIXTURE) as host:
        cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                          "generation.progress=false")
        cfg.prompts.url_template = host.root + "/{path}"
        run = RunFolder(cfg.run_dir)
        cmd_generate(cfg, run, echo=lambda s: None)
    manifest = json.loads((run.path / "manifest.json").read_text())
    digest = fixture_text().digest
    assert manifest["prompts"] == {"source": "official", "hash": digest, "commit": official_prompts.COMMIT}
    assert manifest["prompt_hash"] == digest
    rec = latest_records(run)[("Challenge_1_main", 0)]
    problem = json.loads((public_dir / "Challenge_1.json").read_text())["problems"][0]
    assert rec.prompt_hash == digest
    assert [m["content"] for m in rec.messages if m["role"] in ("system", "user")] == [
        TWO_STEP, problem["problem_description"], fixture_text().parse_turn(problem["code_template"])]
    row = next(r for r in _run_table(load_run(run.path, ReportConfig())).rows if r[0] == "prompt hash")
    assert row[1] == f"`{digest}`, official prompts"


def test_the_report_labels_paraphrased_prompts(public_dir, tmp_path):
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                      "generation.progress=false", "prompts=own")
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    row = next(r for r in _run_table(load_run(run.path, ReportConfig())).rows if r[0] == "prompt hash")
    assert row[1] == f"`{prompts.OWN.hash}`, paraphrased prompts (not comparable to published scores)"


def test_offline_cli_stops_for_a_real_model_and_the_mock_falls_back(public_dir, tmp_path):
    model = ["model=openai_compatible", "model.name=m", "model.base_url=http://127.0.0.1:9/v1",
             "model.api_key_env=FAKE_LLM_KEY"]
    out = run_cli("generate", *model, f"dataset.path={public_dir}", f"run_dir={tmp_path / 'r1'}",
                  env={"FAKE_LLM_KEY": "k"})
    assert out.returncode != 0 and "prompts.source=own" in out.stderr and "prompts.path" in out.stderr
    mock = run_cli("generate", f"dataset.path={public_dir}", f"run_dir={tmp_path / 'r2'}", "generation.epochs=1",
                   "generation.progress=false")
    assert mock.returncode == 0, mock.stderr
    assert "model=mock" in mock.stderr and "paraphrased prompts" in mock.stderr
    manifest = json.loads((tmp_path / "r2" / "manifest.json").read_text())
    assert manifest["prompts"] == {"source": "own", "hash": prompts.OWN.hash, "commit": None}


def test_resuming_with_other_prompt_text_is_refused(fixture_sums, public_dir, tmp_path):
    from critpt_harness.errors import RunFolderError

    own = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                      "generation.progress=false", "prompts=own")
    run = RunFolder(own.run_dir)
    cmd_generate(own, run, echo=lambda s: None)
    with FakeFileHost(FIXTURE) as host:
        official = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'run'}", "generation.epochs=1",
                               "generation.progress=false")
        official.prompts.url_template = host.root + "/{path}"
        with pytest.raises(RunFolderError, match="the prompt text changed.*resume it with prompts=own"):
            cmd_generate(official, run, echo=lambda s: None)


def test_a_checkpoint_step_is_its_description_as_it_is_with_the_official_text():
    from critpt_harness.generation import prompts

    steps = ["Setup.\n\nStep 1: find a.", "Setup.\n\nStep 1: find a.\n### Answer: a = 1\n\n## Subproblem 2\nFind b."]
    official = prompts.PromptSet(source="official", hash="h", official=object())  # only presence matters here
    assert official.step_text(steps, 1) == steps[1]  # as the official builder's sub_step gives it
    own = prompts.OWN.step_text(steps, 1)
    assert "Find b." in own and "Answer" not in own  # the tool's own: the new part only
