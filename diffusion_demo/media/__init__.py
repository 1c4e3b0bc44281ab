"""Everything a person sees: images and grids (`images`), a drawn sketch or painted mask
(`sketch`), matplotlib figures (`plots*`, `toy2d_plots`), the formulas as LaTeX text with
this run's numbers (`equations`), chains of step records turned into frames (`chains`,
from typed requests: the stream, the downloads and `export` share it), the files the
export buttons offer (`export_files`) and the GIF / MP4 / PNG writers (`export`).

May import: config, checks, diffusion, models, toy2d and libraries. Never training, ui or cli.
"""
