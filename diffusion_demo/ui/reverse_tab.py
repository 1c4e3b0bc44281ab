"""Tab: reverse_tab (placeholder, being built)."""

from __future__ import annotations

import gradio as gr

from .common import UIContext


def build(ctx: UIContext) -> None:
    gr.Markdown("Coming soon.")
