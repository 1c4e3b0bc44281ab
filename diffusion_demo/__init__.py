"""Order From Chaos: a diffusion model's two Markov chains, made visible."""

__version__ = "0.1.0"
