"""The "Explain" section every tab folds its long texts into, under the visuals.

Open on the normal page; in projector and embed modes theme.HEAD's script closes it once
the page is drawn (it finds the sections by their ids, `<tab>-explain`), so the pictures
and the main control fill the first screen.
"""

from __future__ import annotations

import gradio as gr

LABEL = "Explain"


def explain(tab: str) -> gr.Accordion:
    """`with explain("reverse"): gr.Markdown(...)` — the tab's Explain section (id `reverse-explain`)."""
    return gr.Accordion(LABEL, open=True, elem_id=f"{tab}-explain", elem_classes=["explain"])
