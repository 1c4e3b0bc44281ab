"""The 2D picture: toy point clouds, their forward diffusion and a small MLP ε-denoiser.

Pure math, data and model (torch, numpy, diffusers): no UI and no plotting here.

In 2D the blog's picture is literal. The data set is a curve ("manifold") in the plane;
the forward process q(x_t | x_0) pushes each point off it until the cloud is N(0, I);
the learned reverse chain p_θ(x_{t-1} | x_t) walks fresh noise back onto the curve.
Only the reverse part has parameters: a small MLP ε_θ(x_t, t) trained with the simple
loss of Ho et al. 2020. diffusers' DDPMScheduler does all the schedule math (add_noise
for q, step for p_θ); this package only supplies data, the network and the bookkeeping.

Time convention as in forward.py: UI/API t in [0, T], t = 0 is the data, t = T is x_T;
diffusers' timestep index is t - 1.

Modules: `data` (data sets, typed points, input checks, the forward cloud and paths),
`model` (EpsMLP, Toy2DModel, save / load, shipped weights), `train` (the training loop and
``python -m diffusion_demo.toy2d``), `store` (models in use), `sampling` (the reverse chain,
the ε-field), `metrics` (samples vs data). The names below are re-exported so that callers
write ``toy2d.get_set(...)``. Settings (LIMITS, TRAIN2D, the trained schedule) live in
diffusion_demo/config.py.

May import: config, checks, diffusion and libraries. Never models, training, media, ui or cli.
"""

from __future__ import annotations

from ..config import TOY2D_LIMITS as LIMITS
from ..config import TRAIN2D, Toy2DLimits, Toy2DTrainConfig
from .data import (
    BUILTIN_SETS,
    DATASET_LABELS,
    DATASETS,
    ToySet,
    builtin_points,
    check_dataset,
    check_paths,
    check_seed,
    cloud_stats,
    forward_cloud,
    forward_paths,
    get_set,
    normalise_custom,
    parse_points,
)
from .metrics import nn_distance, quality
from .model import (
    TRAINED_SPEC,
    WEIGHTS_DIR,
    EpsMLP,
    Toy2DModel,
    describe_spec,
    load,
    save,
    shipped,
    weights_path,
)
from .sampling import eps_field, model_t, reverse_run, sample
from .store import STORE, ModelStore, model_for
from .train import TrainProgress, loss_curve, lr_at, main, train, train_iter

__all__ = [
    "BUILTIN_SETS",
    "DATASETS",
    "DATASET_LABELS",
    "LIMITS",
    "STORE",
    "TRAIN2D",
    "TRAINED_SPEC",
    "WEIGHTS_DIR",
    "EpsMLP",
    "ModelStore",
    "Toy2DLimits",
    "Toy2DModel",
    "Toy2DTrainConfig",
    "ToySet",
    "TrainProgress",
    "builtin_points",
    "check_dataset",
    "check_paths",
    "check_seed",
    "cloud_stats",
    "describe_spec",
    "eps_field",
    "forward_cloud",
    "forward_paths",
    "get_set",
    "load",
    "loss_curve",
    "lr_at",
    "main",
    "model_for",
    "model_t",
    "nn_distance",
    "normalise_custom",
    "parse_points",
    "quality",
    "reverse_run",
    "sample",
    "save",
    "shipped",
    "train",
    "train_iter",
    "weights_path",
]
