"""The export buttons: a row of ⬇ GIF / ⬇ MP4 / … buttons per view, and the public
/export_<view> endpoints (format first). The files are media/export_files.py's.

Each tab adds a row of buttons with one call (`forward_row(...)`, …). A button writes the
file and the browser downloads it at once (the file also appears in the row's file box,
a fallback link). The same function is a named API endpoint taking the format first.
The views, formats and endpoints: the table below the imports.

May import: ui (common, zerogpu), media, models, config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import gradio as gr

from ..config import SCHEDULE
from ..diffusion.samplers import DEFAULT_SAMPLER
from ..media.export_files import (
    FORMATS,
    forward_file,
    inpaint_file,
    reverse_file,
    roundtrip_file,
    schedule_file,
    toy2d_file,
)
from . import zerogpu
from .common import CHAINS, HEAVY, UIContext, guarded

# | view | formats | endpoint |
# |---|---|---|
# | forward | gif, mp4, png | /export_forward |
# | reverse | gif, mp4 | /export_reverse |
# | roundtrip | gif, mp4 | /export_roundtrip |
# | toy2d | gif, mp4 | /export_toy2d |
# | inpaint | gif, mp4, png | /export_inpaint |
# | schedule | png, svg | /export_schedule |

# After an export: download the file at once (a same-origin link with `download`).
AUTO_DOWNLOAD_JS = """
(f) => {
  if (f && f.url) {
    const a = document.createElement("a");
    a.href = f.url;
    a.download = f.orig_name || "";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
}
"""


@dataclass
class DownloadRow:
    """The buttons of one view and the file box they fill."""

    view: str
    buttons: dict[str, gr.Button]
    file: gr.File

    def wire(
        self,
        fn: Callable,
        inputs: Sequence[gr.components.Component],
        api_inputs: Sequence[gr.components.Component] | None = None,
        description: str = "",
        limits: dict[str, Any] = HEAVY,
    ) -> None:
        """A click per format (private) and the public endpoint /export_<view>(format, …)."""
        handler = guarded(fn)

        def show(fmt: str, *args: Any) -> dict:
            # The file box appears with its first file (a fallback link to the download).
            return gr.update(value=handler(fmt, *args), visible=True)

        for fmt, button in self.buttons.items():
            button.click(
                partial(show, fmt),
                list(inputs),
                self.file,
                api_visibility="private",
                show_progress="minimal",
                **limits,
            ).success(None, self.file, None, js=AUTO_DOWNLOAD_JS, api_visibility="private", queue=False)
        with gr.Group(visible=False):
            fmt_box = gr.Textbox(FORMATS[self.view][0], label="format")
        gr.on(
            [],
            handler,
            [fmt_box, *(api_inputs if api_inputs is not None else inputs)],
            self.file,
            api_name=f"export_{self.view}",
            api_description=description or (fn.__doc__ or "").strip().splitlines()[0],
            **limits,
        )


def row(view: str, label: str) -> DownloadRow:
    """The buttons (⬇ GIF, ⬇ MP4, …) and a small file box, in a row (call inside a layout)."""
    with gr.Row(elem_classes=["downloads"], elem_id=f"{view}-downloads", equal_height=True):
        buttons = {
            fmt: gr.Button(
                f"⬇ {fmt.upper()}",
                size="sm",
                variant="secondary",
                elem_id=f"{view}-download-{fmt}",
                scale=0,
                min_width=80,
            )
            for fmt in FORMATS[view]
        }
        file = gr.File(
            label=label,
            interactive=False,
            visible=False,
            elem_id=f"{view}-download-file",
            height=60,
            scale=3,
            min_width=200,
        )
    return DownloadRow(view, buttons, file)


def _api_schedule_inputs() -> list[gr.components.Component]:
    return [
        gr.Textbox("linear", label="schedule"),
        gr.Number(SCHEDULE.default_beta_start, label="beta_start"),
        gr.Number(SCHEDULE.default_beta_end, label="beta_end"),
        gr.Number(SCHEDULE.default_T, label="T"),
    ]


def forward_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: image (upload), schedule, seed, example, beta_start, beta_end, T."""
    r = row("forward", "Forward chain x₀ … x_T (GIF / MP4 / PNG strip)")
    with gr.Group(visible=False):
        a_image = gr.File(label="image", type="filepath")
        sched = _api_schedule_inputs()
        a_seed = gr.Number(0, label="seed")
        a_example = gr.Textbox("photo-landscape", label="example")
    r.wire(
        forward_file,
        inputs,
        [a_image, sched[0], a_seed, a_example, *sched[1:]],
        "The forward chain x_0 … x_T of an image (or a shipped example) at evenly spaced t: "
        "format gif or mp4 (40 frames) or png (a strip of 10).",
    )
    return r


def schedule_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: schedule, beta_start, beta_end, T, compare, t."""
    r = row("schedule", "Schedule chart (PNG / SVG)")
    with gr.Group(visible=False):
        sched = _api_schedule_inputs()
        a_compare = gr.Textbox("", label="compare")
        a_t = gr.Number(None, label="t")
    r.wire(
        schedule_file,
        inputs,
        [*sched, a_compare, a_t],
        "The schedule chart as png or svg; compare: other schedules to overlay (comma-separated); "
        "t: the step to mark (optional).",
    )
    return r


def reverse_row() -> DownloadRow:
    """The reverse chain's buttons; call wire_reverse(row, replay_state) once the state exists."""
    return row("reverse", "Reverse chain of the last run (GIF / MP4)")


def wire_reverse(r: DownloadRow, replay: gr.State) -> None:
    r.wire(
        reverse_file,
        [replay],
        [replay],
        "The last /reverse run of this session (its stored replay frames) as gif or mp4.",
    )


def roundtrip_row(ctx: UIContext, inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: image (upload), t, seed, example, sampler, steps."""
    r = row("roundtrip", "Round trip x₀ → x_t → back (GIF / MP4)")
    with gr.Group(visible=False):
        a_image = gr.File(label="image", type="filepath")
        a_t = gr.Number(400, label="t")
        a_seed = gr.Number(0, label="seed")
        a_example = gr.Textbox("digit-3", label="example")
        a_sampler = gr.Textbox(DEFAULT_SAMPLER, label="sampler")
        a_steps = gr.Number(100, label="steps")

    def roundtrip_export(format, image, t, seed, example, sampler, steps):
        """x_0, x_t and the reverse chain back to a digit, as gif or mp4."""
        if ctx.denoiser is None:  # the file's own message names the missing checkpoint
            return roundtrip_file(None, format, image, t, seed, example, sampler, steps)
        return roundtrip_file(ctx.require_model(), format, image, t, seed, example, sampler, steps)

    r.wire(
        # its own buttons call it too (not only the marked endpoint): borrowed here, around
        # `guarded` so that its messages come back from the GPU call as they are
        zerogpu.borrow(guarded(roundtrip_export)),
        inputs,
        [a_image, a_t, a_seed, a_example, a_sampler, a_steps],
        "A digit noised to step t and denoised back by the model, frame by frame: gif or mp4.",
        limits=CHAINS,
    )
    return r


def inpaint_row(frames: gr.State) -> DownloadRow:
    """The fill-in tab's buttons, from the last run's frames (a per-session state)."""
    r = row("inpaint", "Fill-in chain of the last run (GIF / MP4 / PNG strip)")
    r.wire(inpaint_file, [frames], [frames], "The last /inpaint run of this session as gif, mp4 or png.")
    return r


def toy2d_row(inputs: Sequence[gr.components.Component]) -> DownloadRow:
    """inputs: dataset, seed, points, schedule, beta_start, beta_end, T."""
    r = row("toy2d", "2D animation (GIF / MP4)")
    with gr.Group(visible=False):
        a_dataset = gr.Textbox("moons", label="dataset")
        a_seed = gr.Number(0, label="seed")
        a_points = gr.Textbox("", label="points")
        sched = _api_schedule_inputs()
    r.wire(
        toy2d_file,
        inputs,
        [a_dataset, a_seed, a_points, *sched],
        "The 2D animation (the data pushed to N(0, I), then brought back by the learned chain) as gif or mp4.",
    )
    return r
