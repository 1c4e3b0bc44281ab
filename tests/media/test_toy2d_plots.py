"""media/toy2d_plots: the 2D figures, the animation frames and the GIF."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.media import toy2d_plots as plots
from diffusion_demo.toy2d.data import forward_paths, get_set
from diffusion_demo.toy2d.model import TRAINED_SPEC, shipped
from diffusion_demo.toy2d.sampling import eps_field, reverse_run
from diffusion_demo.toy2d.store import STORE

SPEC = TRAINED_SPEC


# ------------------------------------------------------------------ figures and frames


def test_figures_draw():
    from diffusion_demo.media.plots import fig_to_image

    toy = get_set("moons")
    model = shipped("moons")
    states = reverse_run(model, seed=2, n=50)
    ref = toy.reference()[:500]
    figs = [
        plots.cloud_figure(states[0], plots.point_colours(states[0]), "x", 3.0, ref),
        plots.trajectories_figure(forward_paths(toy, SPEC, 0, 2), states[:, :3], 400, 100, ref, 3.0),
        plots.field_figure(*eps_field(model, 20), ref, "field", 3.0),
        plots.message_figure("train first"),
    ]
    for fig in figs:
        img = fig_to_image(fig)
        assert img.size == (420, 420)
        assert np.asarray(img).std() > 5  # not blank
    traj = figs[1].axes[0]
    assert len(traj.lines) == 2 * 3 + 3 * 3  # each path: line, start and end markers


def test_frame_times_cover_the_process():
    ts = plots.frame_times(SPEC, 20)
    assert ts[0] == 0 and ts[-1] == 1000 and ts == sorted(set(ts))
    # evenly spaced in noise level: most frames come before alpha_bar becomes tiny (t ~ 600)
    assert sum(t < 400 for t in ts) > len(ts) / 2


def test_animation_frames_and_gif(tmp_path):
    frames = plots.animation_frames("rings", seed=0, n_frames=6, size=96)
    assert len(frames) >= 10 and all(f.size == (96, 96) and f.mode == "RGB" for f in frames)
    # forward ends where the reverse starts (noise), and both ends differ from it
    first, last = np.asarray(frames[0], float), np.asarray(frames[-1], float)
    assert np.abs(first - np.asarray(frames[len(frames) // 2], float)).mean() > 1
    gif = plots.save_gif(frames, tmp_path / "a.gif")
    with Image.open(gif) as im:
        assert im.n_frames == len(frames) and im.info["loop"] == 0
    assert last.shape == first.shape


def test_animation_of_an_untrained_custom_set_says_so():
    STORE.clear()
    with pytest.raises(ValueError, match="No model for this custom set yet"):
        plots.animation_frames("custom", points="0, 0\n5, 5", train_if_missing=False)
    with pytest.raises(ValueError, match="size must be"):
        plots.animation_frames("moons", size=5000)
