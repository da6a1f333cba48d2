"""Import from and export to the official pipeline's results/generations layout."""

import json

import pytest

from critpt_harness.errors import RunFolderError
from critpt_harness.batches.interop import official_files
from critpt_harness.commands.batches import cmd_assemble
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.commands.interop import cmd_export_official, cmd_import_official
from critpt_harness.runfiles import read_json
from critpt_harness.runs import RunFolder

from .conftest import make_config


@pytest.fixture
def assembled(public_dir, tmp_path):
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'ours'}", "generation.epochs=2",
                      "generation.progress=false", "checks.execute=false", "model.label=my-model")
    run = RunFolder(cfg.run_dir)
    cmd_generate(cfg, run, echo=lambda s: None)
    cmd_assemble(cfg, run, echo=lambda s: None)
    return cfg, run


def test_export_writes_one_official_tree_per_epoch(assembled):
    cfg, run = assembled
    lines = []
    cmd_export_official(cfg, run, echo=lines.append)
    for epoch in (0, 1):
        root = run.path / "official" / f"epoch_{epoch}"
        files = official_files(root)  # the selection evaluate_all_results.py makes
        assert len(files) == 70
        one = root / "Challenge_7" / "use_golden_for_prev_steps_False" / "parsing_False" / "my-model" / str(epoch)
        data = json.loads((one / "Challenge_7_main.json").read_text())
        batch = read_json(run.batch_file(epoch))
        sub = next(s for s in batch["submissions"] if s["problem_id"] == "Challenge_7_main")
        assert {k: data[k] for k in sub} == sub and data["timestamp"]
    root0 = run.path / "official" / "epoch_0"
    assert (f"python evaluate_all_results.py --results-dir {root0} --output-dir "
            f"{run.path / 'official' / 'evaluations_epoch_0'} --api-key \"$ARTIFICIAL_ANALYSIS_API_KEY\"") in lines[0]


def test_round_trip_gives_the_same_batches(assembled, public_dir, tmp_path):
    cfg, run = assembled
    cmd_export_official(cfg, run, echo=lambda s: None)
    # both epochs in one official tree, as the official pipeline writes them
    official = tmp_path / "results" / "generations"
    for epoch in (0, 1):
        for path in official_files(run.path / "official" / f"epoch_{epoch}"):
            target = official / path.relative_to(run.path / "official" / f"epoch_{epoch}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    (official / "batch_metadata.json").write_text("{}")  # skipped, as the official script skips it
    imported = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'imported'}",
                           f"interop.source={official}", "checks.execute=false")
    back = RunFolder(imported.run_dir)
    cmd_import_official(imported, back, echo=lambda s: None)
    assert read_json(back.manifest_file)["imported_from"]["files"] == 140
    cmd_assemble(imported, back, echo=lambda s: None)
    for epoch in (0, 1):
        ours = read_json(run.batch_file(epoch))["submissions"]
        theirs = read_json(back.batch_file(epoch))["submissions"]
        strip = lambda subs: [{k: s[k] for k in ("problem_id", "generated_code", "model", "generation_config")}
                              for s in subs]
        assert strip(theirs) == strip(ours)


def test_import_refuses_mixed_models_and_non_folders(tmp_path, public_dir):
    src = tmp_path / "gen"
    for model in ("a", "b"):
        folder = src / "Challenge_1" / model / "0"
        folder.mkdir(parents=True)
        (folder / "Challenge_1_main.json").write_text(json.dumps(
            {"problem_id": "Challenge_1_main", "generated_code": "x", "model": model, "generation_config": {}}))
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'r'}", f"interop.source={src}")
    with pytest.raises(RunFolderError, match=r"still holds 2 set-ups .* model 'a', setup 'a': 1 files; model 'b'"):
        cmd_import_official(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)
    cfg.interop.source = str(tmp_path / "missing")
    with pytest.raises(RunFolderError, match="is not a folder"):
        cmd_import_official(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)


def _official_tree(root, public_dir) -> None:
    """Two models and two set-ups of one model, laid out as the official generator writes them
    (model and set-up folders below each challenge), with step artifacts (our own content)."""
    template = json.loads((public_dir / "Challenge_1.json").read_text())["problems"][0]["code_template"]
    reply = f"Here it is:\n```python\n{template.replace('...', '1.0', 1)}\n```"
    for model, label, flags in (("openai/gpt-5", "python", {"use_python": True}), ("openai/gpt-5", "", {}),
                                ("google/gemini-2.5-pro", "", {})):
        for epoch in (0, 1):
            folder = root / "Challenge_1" / "use_golden_for_prev_steps_False" / "parsing_False" / model.split("/")[1]
            folder = (folder / label if label else folder) / str(epoch)
            folder.mkdir(parents=True)
            config = {"use_golden_for_prev_steps": False, "parsing": False, "multiturn_with_answer": False,
                      "use_python": False, "use_web_search": False, **flags}
            (folder / "Challenge_1_main.json").write_text(json.dumps(
                {"problem_id": "Challenge_1_main", "generated_code": reply, "model": model, "timestamp": "t",
                 "generation_config": config, "messages": [{"role": "assistant", "content": reply}]}))
            (folder / "main.json").write_text(json.dumps({
                "artifact_type": "step", "step": "main", "summary": {"usage": {
                    "input_tokens": 1200, "output_tokens": 3400, "reasoning_tokens": 3000, "total_tokens": 4600}},
                "chat": [{"role": "assistant", "contents": [{"content_type": "reasoning", "content_text": "hmm"},
                                                            {"content_type": "text", "content_text": "ok"}]},
                         {"role": "tool", "contents": [{"content_type": "text", "content_text": "42"}]}]}))


def test_a_tree_of_several_models_and_set_ups_is_imported_one_at_a_time(tmp_path, public_dir):
    src = tmp_path / "results" / "generations"
    _official_tree(src, public_dir)
    cfg = make_config(f"dataset.path={public_dir}", f"run_dir={tmp_path / 'r'}", f"interop.source={src}",
                      "interop.model=gpt-5")
    with pytest.raises(RunFolderError, match="still holds 2 set-ups.*interop.setup"):
        cmd_import_official(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)
    cfg.interop.setup = "python"
    run = RunFolder(cfg.run_dir)
    cmd_import_official(cfg, run, echo=lambda s: None)
    records = [json.loads(line) for line in run.generations_file.read_text().splitlines()]
    assert [(r["epoch"], r["model"]) for r in records] == [(0, "openai/gpt-5"), (1, "openai/gpt-5")]
    first = records[0]
    assert first["replies"][0].startswith("Here it is:")  # the raw generated_code, kept as it came
    assert first["usage"]["prompt_tokens"] == 1200 and first["usage"]["reasoning_tokens"] == 3000
    assert first["reasoning"] == ["hmm"] and first["tool_calls"][0]["output"] == "42"
    stored = run.stored_config()
    assert stored["generation"]["use_python"] is True and stored["generation"]["use_web_search"] is False
