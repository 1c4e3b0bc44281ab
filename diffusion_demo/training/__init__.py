"""Making and judging the model: the digits data (`data`), the training loop (`train`),
sample-quality metrics (`evaluate`) and the steps-vs-quality sweep (`sweep`).

May import: config, diffusion, models and libraries. Never media, ui or cli.
"""
