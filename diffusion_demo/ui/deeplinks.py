"""Deep links: the URL query restores a view (?tab=forward&t=617&schedule=cosine&seed=3)."""

from __future__ import annotations

import gradio as gr

from .common import UIContext


def wire(demo: gr.Blocks, tabs: gr.Tabs, ctx: UIContext) -> None:
    """Placeholder: filled in by the deep-link work."""
