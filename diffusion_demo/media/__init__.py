"""Everything a person sees: images and grids (`images`), matplotlib figures (`plots*`), the
formulas as LaTeX text with this run's numbers (`equations`), a drawn sketch as a digit
(`sketch`), and chains turned into frames and GIF / MP4 / PNG files (`export`).

May import: config, diffusion, models, toy2d and libraries. Never ui or cli.
"""
