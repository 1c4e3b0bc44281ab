"""Look: a clean default theme and CSS for large projector-friendly text."""

from __future__ import annotations

import gradio as gr

CSS = """
#intro h1 { margin-bottom: 0.2em; }
.formula { font-size: 1.1em; }
"""


def theme() -> gr.themes.Base:
    return gr.themes.Soft(primary_hue="indigo", text_size="lg")
