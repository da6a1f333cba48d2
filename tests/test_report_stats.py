"""The report's arithmetic and tables: t-interval, the shipped leaderboard, the config schema."""

import math
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from critpt_harness.errors import ConfigError
from critpt_harness.report.command import check_config
from critpt_harness.config.report import ModelPrice, ReportConfig
from critpt_harness.report.cost import Price, choose_price, cost_of
from critpt_harness.catalogs.artificial_analysis import aa_percent
from critpt_harness.report.catalog import CatalogPrice
from critpt_harness.report.leaderboard import Entry, load_official, place
from critpt_harness.report.stats import epoch_stats, t_critical

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("df,expected", [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (9, 2.2622),
                                         (30, 2.0423), (120, 1.9799)])
def test_t_critical_matches_the_tables(df, expected):
    assert t_critical(df) == pytest.approx(expected, abs=5e-4)


def test_known_accuracies_give_known_mean_se_and_interval():
    s = epoch_stats([0.10, 0.12, 0.08, 0.10, 0.11])
    sd = math.sqrt((0.002**2 + 0.018**2 + 0.022**2 + 0.002**2 + 0.008**2) / 4)
    assert s.n == 5
    assert s.mean == pytest.approx(0.102)
    assert s.stderr == pytest.approx(sd / math.sqrt(5))
    assert s.stderr == pytest.approx(0.0066332, abs=1e-6)
    assert s.ci_low == pytest.approx(0.102 - 2.776445 * 0.0066332, abs=1e-5)
    assert s.ci_high == pytest.approx(0.120417, abs=1e-5)


def test_one_epoch_has_no_interval_and_the_interval_is_clipped_at_zero():
    one = epoch_stats([0.05])
    assert one.mean == 0.05 and one.stderr is None and not one.has_interval
    assert epoch_stats([]).mean is None
    low = epoch_stats([0.0, 0.0143, 0.0])
    assert low.ci_low == 0.0 and low.ci_high > low.mean


def test_the_shipped_official_table():
    table = load_official()
    scores = {e["model"]: e["score"] for e in table.entries}
    assert scores == {
        "GPT-5 (high, code & web)": 12.6, "GPT-5 (high, code)": 10.6, "Gemini-3 Pro": 9.1, "GPT-5 (high)": 5.7,
        "Gemini-2.5 Pro": 2.0, "o3 (high)": 1.4, "DeepSeek R1": 1.1, "Gemini-2.5 Flash": 1.1,
        "o4-mini (high)": 0.6, "Claude Opus 4": 0.3, "GPT-5 (minimal)": 0.0, "Llama-4 Maverick": 0.0, "GPT-4o": 0.0}
    assert table.as_of == "2025-11-21" and table.source_url == "https://github.com/CritPt-Benchmark/CritPt"
    assert "Artificial Analysis" in next(e for e in table.entries if e["model"] == "Gemini-3 Pro")["note"]
    assert "2509.26574" in table.attribution
    # every alias names an experiment config that exists
    for e in table.entries:
        if e.get("experiment"):
            assert (REPO / "configs" / "experiment" / f"{e['experiment']}.yaml").exists(), e


def test_a_bad_leaderboard_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="report.leaderboard_file"):
        load_official(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="not a CritPt table"):
        load_official(str(bad))


def test_place_counts_published_entries_above_the_run():
    entries = [Entry("a", 12.6, "official", ""), Entry("b", 5.7, "official", ""), Entry("c", 2.0, "catalog", ""),
               Entry("other run", 9.0, "run", "")]
    p = place(entries, Entry("me", 5.7, "run", ""))
    assert (p.rank, p.out_of) == (2, 3)  # a tie goes to the run; other runs and catalog rows are not counted
    assert p.above == ["a 12.6%"] and p.below[0] == "b 5.7%"


def test_prices_catalog_first_then_config_and_the_cost():
    aa = CatalogPrice("artificial_analysis", 2.5, 10.0, "pricing", "catalog/x.json", "2026-01-01", "GPT-4o")
    orr = CatalogPrice("openrouter", 3.0, 12.0, "pricing", "catalog/y.json", "2026-01-01", "GPT-4o")
    cfg = ReportConfig(input_price_per_million=1.0, output_price_per_million=2.0)
    assert choose_price(cfg, ["gpt-4o"], [orr, aa]).input_per_million == 2.5
    assert "Artificial Analysis" in choose_price(cfg, ["gpt-4o"], [orr, aa]).source
    assert choose_price(cfg, ["gpt-4o"], []).source.startswith("report config")
    cfg.prefer_config_prices = True
    assert choose_price(cfg, ["gpt-4o"], [aa]).input_per_million == 1.0
    per_model = ReportConfig(prices=[ModelPrice("My-Model", 0.5, 1.5)])
    assert choose_price(per_model, ["my-model"], []).output_per_million == 1.5
    assert choose_price(ReportConfig(), ["x"], []) is None
    cost = cost_of(2_000_000, 500_000, Price(2.5, 10.0, "test"))
    assert (cost.input_usd, cost.output_usd, cost.total_usd) == (5.0, 5.0, 10.0)


def test_artificial_analysis_fractions_become_percent():
    assert aa_percent(0.126) == pytest.approx(12.6)
    assert aa_percent(12.6) == 12.6


def test_the_report_config_yaml_matches_its_schema():
    text = yaml.safe_load((REPO / "configs" / "report" / "default.yaml").read_text())
    assert "defaults" not in text  # typed by the root schema it is merged onto, not by a `schema` option
    merged = OmegaConf.merge(OmegaConf.structured(ReportConfig), text)
    cfg = OmegaConf.to_object(merged)
    assert cfg == ReportConfig()  # the YAML restates the schema's defaults
    with_prices = OmegaConf.merge(merged, OmegaConf.from_dotlist(["input_price_per_million=2.5"]))
    assert OmegaConf.to_object(with_prices).input_price_per_million == 2.5
    per_model = OmegaConf.merge(merged, {"prices": [{"model": "gpt-4o", "input_per_million": 2.5}]})
    assert OmegaConf.to_object(per_model).prices[0].input_per_million == 2.5


def test_bad_report_options_name_the_key():
    with pytest.raises(ConfigError, match="report.formats"):
        check_config(ReportConfig(formats=["pdf"]))
    with pytest.raises(ConfigError, match="go together"):
        check_config(ReportConfig(input_price_per_million=1.0))
    with pytest.raises(ConfigError, match="negative"):
        check_config(ReportConfig(input_price_per_million=-1.0, output_price_per_million=1.0))
