"""The report's figure is drawn once per set of numbers: a report made again from unchanged
files reuses its report.png (matplotlib not loaded), and any change in what it shows redraws it."""

from __future__ import annotations

import json

import pytest

from critpt_harness.report import plot
from critpt_harness.report.command import build_report
from critpt_harness.config.report import ReportConfig

from .test_report import ACC, make_run


def test_an_unchanged_report_reuses_its_figure_and_a_changed_one_redraws_it(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run", accuracies=ACC)
    cfg = ReportConfig(formats=["md"])
    build_report([run], cfg)
    first = (run / "report.png").read_bytes()
    key = plot.png_text(first, plot.KEY)
    assert key and len(key) == 64

    def refuse(*args, **kwargs):
        raise AssertionError("drawn again from unchanged numbers")

    with monkeypatch.context() as mp:
        mp.setattr(plot, "draw", refuse)
        build_report([run], cfg)
    assert (run / "report.png").read_bytes() == first and "(report.png)" in (run / "report.md").read_text()

    results = json.loads((run / "results.json").read_text())
    results["epochs"]["0"]["accuracy"] = 0.30
    (run / "results.json").write_text(json.dumps(results))
    build_report([run], cfg)
    again = (run / "report.png").read_bytes()
    assert again != first and plot.png_text(again, plot.KEY) not in (None, key)
    build_report([run], ReportConfig(formats=["md"], plot_max_entries=3))  # a setting the figure uses
    assert plot.png_text((run / "report.png").read_bytes(), plot.KEY) != plot.png_text(again, plot.KEY)


@pytest.mark.parametrize("data", [b"", b"not a png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x00IEND\xaeB`\x82"])
def test_a_file_without_the_key_is_not_a_reusable_figure(data):
    assert plot.png_text(data, plot.KEY) is None
