"""Fixtures of the deep-link tests: a small Blocks whose tabs register components the way
the real tabs do (`mini`, fast) and the whole app's registrations (`real_links`, slow)."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl

import gradio as gr
import pytest

from diffusion_demo.config import IMAGES
from diffusion_demo.diffusion.samplers import SAMPLER_IDS
from diffusion_demo.ui.common import UIContext, schedule_panel
from diffusion_demo.ui.deeplinks.wire import wire

TABS = ["forward", "schedule", "reverse", "roundtrip", "toy2d"]
EXAMPLES = ["digit-3", "digit-5", "photo-landscape"]


def q(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


@pytest.fixture(scope="module")
def mini():
    """A Blocks with the real schedule panel and tabs registering links like the real ones."""
    with gr.Blocks() as demo:
        panel = schedule_panel()
        ctx = UIContext(schedule=panel, denoiser=None, checkpoint_error=None)
        with gr.Tabs() as tabs:
            with gr.Tab("F", id="forward"):
                ctx.links["t"] = gr.Slider(0, 1000, value=250, step=1, elem_id="forward-t")
                ctx.links["seed"] = gr.Number(0, precision=0, minimum=0, maximum=IMAGES.max_seed)
                ctx.links["example"] = gr.Dropdown(EXAMPLES, value="photo-landscape")
            with gr.Tab("S", id="schedule"):
                ctx.t_followers.append(gr.Slider(0, 1000, value=250, step=1, elem_id="schedule-t"))
            with gr.Tab("R", id="reverse"):
                ctx.links["sampler"] = gr.Radio(list(SAMPLER_IDS), value="ddim")
                ctx.links["steps"] = gr.Slider(1, 1000, value=50, step=1)
                ctx.links["reverse_seed"] = gr.Number(0, precision=0, minimum=0)
                ctx.links["samples"] = gr.Slider(1, 16, value=16, step=1)
                ctx.links["eta"] = gr.Slider(0.0, 1.0, value=0.0, step=0.05)
            with gr.Tab("RT", id="roundtrip"):
                with gr.Row(), gr.Column():  # nested layouts: the owner tab is still found
                    ctx.links["roundtrip_t"] = gr.Slider(0, 1000, value=400, step=1)
                ctx.links["roundtrip_example"] = gr.Dropdown(["digit-3", "digit-5"], value="digit-3")
                ctx.links["roundtrip_seed"] = gr.Number(0, precision=0, minimum=0)
            with gr.Tab("2D", id="toy2d"):
                ctx.links["toy_dataset"] = gr.Dropdown(
                    [("Two moons", "moons"), ("Rings", "rings")], value="moons"
                )
                ctx.links["toy_t"] = gr.Slider(0, 1000, value=100, step=1)
        links = wire(demo, tabs, ctx)
    return SimpleNamespace(demo=demo, links=links, params=links.params, ctx=ctx)


@pytest.fixture(scope="session")
def real_links():
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=None, checkpoint_error="no model in this test")
    return demo.deeplinks
