"""Stage commands without run_dir use the model's latest run and say which."""

from __future__ import annotations

from critpt_harness.runs import latest_run, mark_latest

from .conftest import run_cli


def test_stage_commands_pick_the_latest_run_of_the_model(public_dir, tmp_path):
    args = (f"dataset.path={public_dir}", "dataset.limit=2", "generation.epochs=1")
    # named run folders, so which one is newer is known
    for name in ("2026-01-01_00-00-00", "2026-01-01_00-00-01"):
        assert run_cli("generate", *args, f"run_dir=runs/mock/{name}", cwd=tmp_path).returncode == 0
    first, second = sorted(p for p in (tmp_path / "runs" / "mock").iterdir() if p.is_dir())
    assert (tmp_path / "runs" / "mock" / "latest").read_text().strip() == second.name
    out = run_cli("assemble", *args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"using runs/mock/{second.name}, the latest run" in out.stderr
    assert (second / "batches" / "epoch_0.json").exists() and not (first / "batches").exists()
    out = run_cli("assemble", f"run_dir=runs/mock/{first.name}", *args, cwd=tmp_path)  # an explicit one wins
    assert out.returncode == 0 and "latest" not in out.stderr and (first / "batches" / "epoch_0.json").exists()


def test_without_a_pointer_the_newest_run_folder_is_taken(tmp_path):
    (tmp_path / "notes").mkdir()
    for name in ("2026-01-01_00-00-00", "2026-02-01_00-00-00", "2026-03-01_00-00-00"):
        (tmp_path / name).mkdir(exist_ok=True)
        (tmp_path / name / "config.yaml").write_text("{}")
    for name in ("2026-01-01_00-00-00", "2026-02-01_00-00-00"):  # the newest has no record: a failed start
        (tmp_path / name / "generations.jsonl").write_text('{"problem_id": "x"}\n')
    assert latest_run(tmp_path) == tmp_path / "2026-02-01_00-00-00"
    mark_latest(tmp_path / "2026-01-01_00-00-00")
    assert latest_run(tmp_path) == tmp_path / "2026-01-01_00-00-00"
    assert latest_run(tmp_path / "nothing") is None
