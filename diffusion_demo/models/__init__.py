"""The trained networks: the digits UNet as a `Denoiser` (`unet`) and the small classifier
that judges samples (`classifier`).

May import: `diffusion_demo.config`, `diffusion_demo.diffusion` and libraries.
"""
