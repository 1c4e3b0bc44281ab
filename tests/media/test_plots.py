"""Figures: the schedule chart shows the scheduler's data; the histogram shows x_t's pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_demo.config import FORWARD, SCHEDULE_NAMES
from diffusion_demo.diffusion import forward, schedules
from diffusion_demo.diffusion.schedules import ScheduleSpec
from diffusion_demo.media import plots


def _lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def test_schedule_figure_plots_the_schedulers_curves():
    spec = ScheduleSpec("linear", T=400)
    fig = plots.schedule_figure(spec, t=100)
    ax_beta, ax_ab, ax_snr = fig.axes
    c = schedules.curves(spec)
    ab_line = _lines_by_label(ax_ab)[r"$\bar\alpha_t$ linear"]
    assert np.array_equal(ab_line.get_xdata(), np.arange(1, 401))
    assert np.array_equal(ab_line.get_ydata(), c.alpha_bar)
    labels = [line.get_label() for line in ax_ab.get_lines()]
    assert r"$\sqrt{\bar\alpha_t}$ (signal)" in labels and r"$\sqrt{1-\bar\alpha_t}$ (noise)" in labels
    sig = _lines_by_label(ax_ab)[r"$\sqrt{\bar\alpha_t}$ (signal)"]
    np.testing.assert_allclose(sig.get_ydata(), np.sqrt(c.alpha_bar))
    assert ax_beta.get_yscale() == "log"
    assert any(np.array_equal(line.get_ydata(), c.beta) for line in ax_beta.get_lines())
    assert any(
        np.allclose(line.get_ydata(), c.log_snr)
        for line in ax_snr.get_lines()
        if len(line.get_ydata()) == 400
    )


def test_schedule_figure_marker_sits_at_current_t():
    spec = ScheduleSpec("cosine")
    fig = plots.schedule_figure(spec, t=617)
    c = schedules.curves(spec)
    _, ax_ab, _ = fig.axes
    dots = [line for line in ax_ab.get_lines() if line.get_marker() == "o"]
    assert len(dots) == 1
    xs, ys = dots[0].get_data()
    assert list(xs) == [617, 617, 617]
    np.testing.assert_allclose(
        ys, [c.alpha_bar[616], np.sqrt(c.alpha_bar[616]), np.sqrt(1 - c.alpha_bar[616])]
    )
    for ax in fig.axes:  # a vertical line at t in every panel
        assert any(list(line.get_xdata()) == [617, 617] for line in ax.get_lines())
    assert "t = 617" in fig.texts[0].get_text()


def test_schedule_figure_compares_several_schedules():
    fig = plots.schedule_figure(ScheduleSpec("linear"), ["cosine", "sigmoid", "linear"], t=10)
    labels = [line.get_label() for line in fig.axes[1].get_lines()]
    for name in ("linear", "cosine", "sigmoid"):
        assert rf"$\bar\alpha_t$ {name}" in labels
    assert labels.count(r"$\bar\alpha_t$ linear") == 1  # the current one is not drawn twice
    with pytest.raises(ValueError, match="expected one of"):
        plots.schedule_figure(ScheduleSpec(), ["quadratic"])


def test_schedule_figure_without_marker_and_at_t_zero():
    fig = plots.schedule_figure(ScheduleSpec(), t=None)
    assert not fig.texts[0].get_visible()
    fig = plots.schedule_figure(ScheduleSpec(), t=0)
    assert "t = 0" in fig.texts[0].get_text()


def test_schedule_chart_blits_only_the_marker():
    spec = ScheduleSpec("sigmoid", T=300)
    a = np.asarray(plots.schedule_chart(spec, ["linear"], 50), dtype=np.int16)
    b = np.asarray(plots.schedule_chart(spec, ["linear"], 250), dtype=np.int16)
    a2 = np.asarray(plots.schedule_chart(spec, ["linear"], 50), dtype=np.int16)
    assert a.shape == b.shape and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, a2), "the background must be restored before each marker"
    changed = np.abs(a - b).sum(-1) > 0
    assert 0.001 < changed.mean() < 0.2, "only the marker and its readout change"
    # and the blitted chart looks like the full drawing of the same figure
    full = np.asarray(plots.fig_to_image(plots.schedule_figure(spec, ["linear"], 50)), dtype=np.int16)
    assert full.shape == a.shape
    assert (np.abs(full - a).sum(-1) > 30).mean() < 0.01


def test_schedule_chart_every_schedule():
    for name in SCHEDULE_NAMES:
        img = plots.schedule_chart(ScheduleSpec(name), [], 500)
        assert isinstance(img, Image.Image) and img.mode == "RGB" and img.width > 800


def test_fig_to_bytes_png_and_svg():
    fig = plots.schedule_figure(ScheduleSpec(), t=5)
    assert plots.fig_to_bytes(fig, "png").startswith(b"\x89PNG")
    assert b"<svg" in plots.fig_to_bytes(fig, "svg")[:1000]
    with pytest.raises(ValueError, match="expected one of png, svg"):
        plots.fig_to_bytes(fig, "gif")
    plots.close(fig)
    assert fig.axes == []


def _x0() -> torch.Tensor:
    g = torch.Generator().manual_seed(42)
    return torch.rand(3, 32, 32, generator=g) * 2 - 1


def test_histogram_shows_the_pixels_of_x_t():
    spec, x0 = ScheduleSpec(), _x0()
    x_t = forward.q_sample(x0, 300, spec, forward.fixed_noise(x0.shape, 1))
    ab = schedules.alpha_bar_at(spec, 300)
    fig = plots.histogram_figure(x_t, x0, ab, 300)
    ax = fig.axes[0]
    stairs = [p for p in ax.patches if type(p).__name__ == "StepPatch"]
    values, edges = stairs[0].get_data().values, stairs[0].get_data().edges
    ref, ref_edges = np.histogram(x_t.numpy().ravel(), bins=FORWARD.hist_bins, range=(-4, 4))
    np.testing.assert_allclose(edges, ref_edges)
    np.testing.assert_allclose(values, ref / (x_t.numel() * np.diff(edges)))
    # the theory curve is forward.pixel_density; N(0, 1) is drawn for reference
    theory = [line for line in ax.get_lines() if line.get_label().startswith("theory")][0]
    np.testing.assert_allclose(theory.get_ydata(), forward.pixel_density(theory.get_xdata(), x0, ab))
    assert theory.get_visible() and not stairs[1].get_visible()
    assert any(line.get_label().startswith("N(0, 1)") for line in ax.get_lines())
    assert "t = 300" in fig.texts[0].get_text()


def test_histogram_theory_matches_the_data_at_every_t():
    """Bin-averaged theory vs the histogram, including small t where the noise is narrower than a bin."""
    spec, x0 = ScheduleSpec(), _x0()
    edges = np.linspace(-4, 4, FORWARD.hist_bins + 1)
    for t in (1, 5, 100, 600, 1000):
        ab = schedules.alpha_bar_at(spec, t)
        samples = torch.cat(
            [forward.q_sample(x0, t, spec, forward.fixed_noise(x0.shape, 100 + s)) for s in range(16)]
        )
        counts, _ = np.histogram(samples.numpy().ravel(), bins=edges)
        density = counts / (samples.numel() * np.diff(edges))
        expected = plots.expected_histogram(edges, x0, ab)
        assert (expected * np.diff(edges)).sum() == pytest.approx(1.0, abs=1e-3)
        np.testing.assert_allclose(density, expected, atol=0.04, err_msg=f"t={t}")


def test_histogram_small_t_uses_the_bin_averaged_theory():
    spec, x0 = ScheduleSpec(), _x0()
    x_t = forward.q_sample(x0, 2, spec, forward.fixed_noise(x0.shape, 1))
    fig = plots.histogram_figure(x_t, x0, schedules.alpha_bar_at(spec, 2), 2)
    stairs = [p for p in fig.axes[0].patches if type(p).__name__ == "StepPatch"]
    assert len(stairs) == 2 and stairs[1].get_visible()
    theory_line = [line for line in fig.axes[0].get_lines() if line.get_label().startswith("theory")][0]
    assert not theory_line.get_visible()
    assert plots.fig_to_bytes(fig).startswith(b"\x89PNG")


def test_histogram_image_matches_the_full_figure():
    """The fast path (cached frame + data drawn on top) looks like the full drawing."""
    spec, x0 = ScheduleSpec(), _x0()
    for t in (3, 400):
        ab = schedules.alpha_bar_at(spec, t)
        x_t = forward.q_sample(x0, t, spec, forward.fixed_noise(x0.shape, 2))
        fast = np.asarray(plots.histogram_image(x_t, x0, ab, t), dtype=np.int16)
        full = np.asarray(plots.fig_to_image(plots.histogram_figure(x_t, x0, ab, t)), dtype=np.int16)
        assert fast.shape == full.shape
        assert (np.abs(fast - full).sum(-1) > 60).mean() < 0.02, f"t={t}"
    # a frame drawn after another one carries nothing of it
    x_a = forward.q_sample(x0, 400, spec, forward.fixed_noise(x0.shape, 3))
    first = np.asarray(plots.histogram_image(x_a, x0, schedules.alpha_bar_at(spec, 400), 400))
    plots.histogram_image(x_t * 0.5, x0, 0.9, 7)
    assert np.array_equal(
        np.asarray(plots.histogram_image(x_a, x0, schedules.alpha_bar_at(spec, 400), 400)), first
    )
