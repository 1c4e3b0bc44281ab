"""Serving the UNet to many users at once: threads, queues and processes, no maths.

Owns the batching engine (`engine`: every running chain's ε̂ from one shared network call
per tick), the UNet compiled ahead of time and cached on disk (`compiled`), that package
served from a child process (`worker`), and the one torch thread for heavy work with the
OpenMP limit of every other thread (`torch_thread`).

May import: `diffusion_demo.config`, `diffusion`, `models` and libraries. media, ui and cli
may import it; it never imports media, ui or cli.
"""
