"""Money before and during generation: an estimate with its source, a budget
(generation.max_cost_usd) that stops new items within one concurrency window of
the limit without losing anything, and a price from the config or a stored
catalog snapshot."""

from __future__ import annotations

import pytest

from critpt_harness.generation.budget import BudgetReached, model_price, spent
from critpt_harness.errors import HarnessError
from critpt_harness.generation.records import latest_records
from critpt_harness.commands.generate import cmd_generate
from critpt_harness.runs import RunFolder
from tests.fakes.llm import FakeLLMServer

from .conftest import llm_overrides, make_config
from .test_report import add_snapshot

PRICE = ("model.pricing.input_per_million=1000", "model.pricing.output_per_million=2000")  # dollars show quickly


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("FAKE_LLM_KEY", "k")


def test_the_budget_stops_new_items_and_a_higher_one_resumes(public_dir, tmp_path):
    run = RunFolder(tmp_path / "run")
    args = (f"dataset.path={public_dir}", "dataset.limit=20", "generation.epochs=1", "generation.concurrency=2",
            "model.max_output_tokens=100", *PRICE)
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, run.path, *args, "generation.max_cost_usd=10"))
        lines: list = []
        with pytest.raises(BudgetReached, match=r"generation.max_cost_usd=\$10.00 reached"):
            cmd_generate(cfg, run, echo=lines.append)
        done = [r for r in latest_records(run).values() if r.status == "ok"]
        cost = spent(run, model_price(cfg, run))
        per_item = cost / len(done)
        assert 0 < len(done) < 20
        assert cost <= 10 + 2 * per_item  # within one concurrency window of the limit
        assert any(line.startswith("cost estimate: 20 items x ~") and "model.max_output_tokens x turns" in line
                   and "generation.max_cost_usd=$10.00" in line for line in lines)
        cmd_generate(make_config(*llm_overrides(llm.url, run.path, *args, "generation.max_cost_usd=1000")), run,
                     echo=lines.append)
    assert sum(1 for r in latest_records(run).values() if r.status == "ok") == 20
    assert "run total $" in lines[-1]


def test_the_estimate_learns_from_earlier_runs_of_the_model(public_dir, tmp_path):
    with FakeLLMServer() as llm:
        for name in ("a", "b"):  # under the model's runs root, runs/<model>/ (the tests run in tmp_path)
            lines: list = []
            cfg = make_config(*llm_overrides(llm.url, tmp_path / "runs" / "fake-model" / name,
                                             f"dataset.path={public_dir}", "dataset.limit=3", "generation.epochs=1",
                                             *PRICE))
            cmd_generate(cfg, RunFolder(cfg.run_dir), echo=lines.append)
    estimate = next(line for line in lines if line.startswith("cost estimate"))
    assert "the mean of 3 items of this model's earlier runs in runs/fake-model" in estimate


def test_earlier_runs_are_never_looked_for_beside_a_run_folder_outside_the_runs_root(public_dir, tmp_path):
    """run_dir=/tmp/x must not make every folder of /tmp an "earlier run" (nor a price source)."""
    with FakeLLMServer() as llm:
        sibling = make_config(*llm_overrides(llm.url, tmp_path / "scratch" / "other", f"dataset.path={public_dir}",
                                             "dataset.limit=3", "generation.epochs=1", *PRICE))
        cmd_generate(sibling, RunFolder(sibling.run_dir), echo=lambda _: None)
        add_snapshot(tmp_path / "scratch" / "other")
        lines: list = []
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "scratch" / "x", f"dataset.path={public_dir}",
                                         "dataset.limit=3", "generation.epochs=1", "model.max_output_tokens=100",
                                         *PRICE))
        cmd_generate(cfg, RunFolder(cfg.run_dir), echo=lines.append)
    estimate = next(line for line in lines if line.startswith("cost estimate"))
    assert "model.max_output_tokens x turns" in estimate and "earlier runs" not in estimate
    unpriced = make_config(*llm_overrides("http://127.0.0.1:1/v1", tmp_path / "scratch" / "y"))
    assert model_price(unpriced, RunFolder(unpriced.run_dir)) is None  # the sibling's snapshot is not read


def test_a_budget_without_a_price_is_refused_and_the_mock_is_free(public_dir, tmp_path):
    with FakeLLMServer() as llm:
        cfg = make_config(*llm_overrides(llm.url, tmp_path / "run", f"dataset.path={public_dir}",
                                         "generation.max_cost_usd=5"))
        with pytest.raises(HarnessError, match="generation.max_cost_usd=5 needs a price .*model.pricing"):
            cmd_generate(cfg, RunFolder(cfg.run_dir), echo=lambda _: None)
    cfg = make_config(f"run_dir={tmp_path / 'mock'}")
    assert model_price(cfg, RunFolder(cfg.run_dir)).source == "the offline mock model (free)"


def test_a_stored_catalog_snapshot_prices_the_model(tmp_path):
    old = tmp_path / "runs" / "gpt-4o" / "2026-01-01_00-00-00"
    old.mkdir(parents=True)
    add_snapshot(old)
    cfg = make_config("model=openai_compatible", "model.name=gpt-4o", "model.base_url=http://127.0.0.1:1/v1",
                      "model.api_key_env=FAKE_LLM_KEY", f"run_dir={tmp_path / 'runs' / 'gpt-4o' / 'new'}")
    price = model_price(cfg, RunFolder(cfg.run_dir))
    assert (price.input_per_million, price.output_per_million) == (2.5, 10.0)
    assert "Artificial Analysis" in price.source and "snapshot runs/gpt-4o/2026-01-01_00-00-00/catalog" in price.source
