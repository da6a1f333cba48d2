"""Import from and export to the official pipeline's results/generations layout."""

import json

import pytest

from critpt_harness.errors import RunFolderError
from critpt_harness.interop import official_files
from critpt_harness.pipeline import cmd_assemble, cmd_export_official, cmd_generate, cmd_import_official
from critpt_harness.runs import RunFolder, read_json

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
    assert "evaluate_all_results.py --results-dir" in lines[0]


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
    with pytest.raises(RunFolderError, match="mixes models"):
        cmd_import_official(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)
    cfg.interop.source = str(tmp_path / "missing")
    with pytest.raises(RunFolderError, match="is not a folder"):
        cmd_import_official(cfg, RunFolder(cfg.run_dir), echo=lambda s: None)
