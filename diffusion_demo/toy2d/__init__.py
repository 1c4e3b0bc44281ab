"""The 2D picture: toy point clouds, their forward diffusion and a small MLP ε-denoiser.

In 2D the blog's picture is literal: the data set is a curve in the plane, q(x_t | x_0)
pushes each point off it until the cloud is N(0, I), and a small MLP ε_θ(x_t, t) walks noise
back. Modules: `data` (data sets, input checks, the forward cloud and paths), `model` (EpsMLP,
save / load, shipped weights), `train` (the loop), `store` (models in use), `sampling` (the
reverse chain, the ε-field), `metrics` (samples vs data). Import each name from its module.

May import: config, checks, diffusion and libraries. Never models, training, media, ui or cli.
"""
