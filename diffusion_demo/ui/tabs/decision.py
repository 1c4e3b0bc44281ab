"""The decision strips: what the classifier reads in x̂_0 at every step of a run.

Owns the strips' widgets, their named handlers (/reverse_decision, /roundtrip_decision) and
the pointer script that picks the reverse tab's sample; the reading and the picture are
media.decision. The chains' own endpoints keep their outputs: a strip is a second event.
May import config, checks, media and the ui helpers.
"""

from __future__ import annotations

from typing import NamedTuple

import gradio as gr
import numpy as np

from ...checks import in_range
from ...config import REVERSE
from ...media.decision import grid_cell, readings, shipped_classifier, strip_image, summary
from ..common import figure_image

LABEL = "p(y | x̂_0) at each step: where the chain decides"
NO_RUN = "After a run, this strip shows what the digit classifier reads in x̂_0 at every step."
NO_ROUNDTRIP = "After a round trip, this strip shows which digit the way back chose, and at which step."


class Strip(NamedTuple):
    image: gr.Image
    text: gr.Markdown


def strip(elem_id: str) -> Strip:
    """The strip's picture (elem_id) and its one-line reading (elem_id-text)."""
    image = figure_image(LABEL, elem_id, height=230)
    return Strip(
        image,
        gr.Markdown(NO_RUN if elem_id.startswith("reverse") else NO_ROUNDTRIP, elem_id=f"{elem_id}-text"),
    )


def sample_slider() -> gr.Slider:
    """Which sample of the grid the strip reads (the pointer over a grid sets it too)."""
    return gr.Slider(
        1,
        REVERSE.max_samples,
        value=1,
        step=1,
        label="Sample (or point at one)",
        elem_id="reverse-decision-sample",
    )


def _classifier():
    clf = shipped_classifier()
    if isinstance(clf, str):  # a checkpoint folder without the classifier: say why, run on
        return None, f"No strip: {clf}"
    return clf, ""


def reverse_decision(frames: list[dict] | None, sample: float = 1, step: float | None = None):
    """What the classifier reads in x̂_0 at every stored step of the last /reverse run, for
    one sample (1 = the first of the grid); the replayed `step` (an index of /replay; None:
    the last) is boxed. Returns the strip and a sentence: where the reading settled."""
    if not frames:
        return None, NO_RUN
    n = int(frames[0]["n"])
    k = in_range(sample, "sample", 1, n)
    at = len(frames) - 1 if step is None else in_range(step, "step", 0, len(frames) - 1)
    clf, why = _classifier()
    if clf is None:
        return None, why
    r = readings(
        [grid_cell(f["x0"], n, k - 1) for f in frames],
        [f["index"] + 1 for f in frames],
        [f["t"] + 1 for f in frames],
        clf,
    )
    title = f"Sample {k}: p(y | x̂_0) at each step (the box: step {r.steps[at]})"
    return strip_image(r, title, at), summary(r, f"Sample {k}")


def roundtrip_decision(trip: dict | None):
    """What the classifier reads in x̂_0 at every step of the last round trip's way back, and
    x_0's own reading: where the digit's identity was kept or lost."""
    if not trip:
        return None, NO_ROUNDTRIP
    clf, why = _classifier()
    if clf is None:
        return None, why
    r = readings(trip["x0_hats"], trip["steps"], trip["ts"], clf)
    reference = int(clf.predict(np.asarray(trip["x0"], np.float32)[None] / 255.0).labels[0])
    title = f"The way back from t = {trip['start_t']}: p(y | x̂_0) at each step"
    return strip_image(r, title, reference=reference), summary(r, "The way back", reference)


# Pointing at a sample in the reverse tab's x_t, x̂_0 or ε̂ grid sets the strip's sample (the
# grids are images.grid's 28-px cells with 1-px gaps, drawn with object-fit: contain).
HEAD = r"""
<script>
(function () {
  var CELL = 29, GRIDS = "#reverse-xt img, #reverse-x0 img, #reverse-eps img", last = 0;
  document.addEventListener("mousemove", function (e) {
    var img = e.target.closest && e.target.closest(GRIDS);
    if (!img || !img.naturalWidth) return;
    var box = img.getBoundingClientRect();
    var scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    var x = (e.clientX - box.left - (box.width - img.naturalWidth * scale) / 2) / scale;
    var y = (e.clientY - box.top - (box.height - img.naturalHeight * scale) / 2) / scale;
    var perRow = Math.round((img.naturalWidth - 1) / CELL);
    var col = Math.floor((x - 1) / CELL), row = Math.floor((y - 1) / CELL);
    if (x < 0 || y < 0 || col < 0 || row < 0 || col >= perRow || y >= img.naturalHeight) return;
    var k = row * perRow + col + 1;
    var range = document.querySelector("#reverse-decision-sample input[type=range]");
    if (!range || k === last || k > Number(range.max)) return;
    last = k;
    range.value = String(k);
    range.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
</script>
"""
