"""media/toy2d_views: the rendered views a page load asks for again are kept, not redrawn."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from diffusion_demo.media import toy2d_views as views
from diffusion_demo.toy2d.store import STORE


def counting_view():
    calls = []

    def view(dataset: str, t: int, seed: int = 0) -> tuple[Figure, dict]:
        calls.append((dataset, t, seed))
        fig = Figure(figsize=(1, 1), dpi=50)
        fig.add_subplot().plot([0, t], [0, 1])
        return fig, {"t": t}

    return view, calls


def test_a_view_asked_again_is_given_again_not_drawn_again():
    view, calls = counting_view()
    drawn = views.as_images(view, 1)
    first, again = drawn("moons", 10), drawn("moons", 10)
    assert calls == [("moons", 10, 0)]
    assert np.array_equal(np.asarray(first[0]), np.asarray(again[0])) and again[1] == {"t": 10}
    assert again[0] is not first[0], "a caller that draws on its image must not change the kept one"
    drawn("moons", 11)
    drawn("moons", 10, seed=1)
    assert calls == [("moons", 10, 0), ("moons", 11, 0), ("moons", 10, 1)]


def test_a_model_trained_or_dropped_means_drawing_again():
    view, calls = counting_view()
    drawn = views.as_images(view, 1)
    drawn("moons", 10)
    STORE.clear()  # as training (STORE.put) does, it may change the model a view gets
    drawn("moons", 10)
    assert len(calls) == 2


def test_only_the_last_few_requests_are_kept():
    view, calls = counting_view()
    drawn = views.as_images(view, 1)
    for t in range(views.RENDERED_KEEP + 1):
        drawn("moons", t)
    drawn("moons", views.RENDERED_KEEP)  # kept
    drawn("moons", 0)  # the oldest: dropped
    assert len(calls) == views.RENDERED_KEEP + 2
    assert len(views._RENDERED) <= views.RENDERED_KEEP


def test_a_kept_view_equals_a_fresh_drawing():
    kept = views.as_images(views.reverse_view, 3)
    first, again = kept("moons", 250, 3), kept("moons", 250, 3)
    fresh = views.reverse_view("moons", 250, 3)
    for image, figure in zip(again[:3], fresh[:3], strict=True):
        assert np.array_equal(np.asarray(image), np.asarray(toy2d_render(figure)))
    assert again[3:] == fresh[3:] == first[3:]


def toy2d_render(figure: Figure):
    from diffusion_demo.media import toy2d_plots

    return toy2d_plots.render(figure)
