"""Order From Chaos: a diffusion model's two Markov chains, made visible.

The parts, each a folder whose docstring says what it owns and what it may import
(imports run one way, top to bottom; tests/test_architecture.py checks it):

    ui/, cli/        the front ends: ui/tabs/<tab>.py lays out a tab and wires its named
                     handlers; cli/ is `python -m diffusion_demo`
    media/           what a person sees: chains.py turns step records into frames, export.py
                     writes GIF / MP4 / PNG, plots*, equations (the formulas as text)
    diffusion/       the math on tensors: sampling.py computes the reverse chain
                     (`reverse_chain`, a generator of StepRecords); forward, schedules, ...
    models/, toy2d/, training/   the networks, the 2D toy, training and its metrics
    config/, checks.py           every setting and limit; the shared input checks
"""

__version__ = "0.1.0"
