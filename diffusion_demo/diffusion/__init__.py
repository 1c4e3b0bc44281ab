"""The math of the two Markov chains, on tensors only.

Owns the variance schedule (`schedules`), the forward chain q(x_t | x_0) (`forward`), the
reverse chain as a generator of step records (`sampling`), the round trip off the data
manifold and back (`roundtrip`) and filling in a masked digit (`inpaint`). diffusers'
schedulers own β_t, ᾱ_t, `add_noise` and `step`; these modules only call them.

May import: `diffusion_demo.config` and libraries. Never serving, media, ui, cli or training.
"""
