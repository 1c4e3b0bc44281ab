"""One module per tab: each lays out its widgets in `build(ctx)` and wires named,
module-level handlers (callable and testable without a browser).

May import: ui (common, frames, export_buttons), media, diffusion, models, toy2d, config.
"""
