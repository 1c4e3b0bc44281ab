"""The explanations shown by the reverse, round-trip and fill-in tabs (Markdown, no logic).

Kept apart so that each tab module holds only its layout and handlers. Imports nothing.
"""

from __future__ import annotations

REVERSE_EXPLAIN = """
### The reverse chain: order from chaos
Start from pure noise **x_T ~ N(0, I)** and apply a learned step again and again. At each
step the network looks at x_t and predicts the noise ε̂ in it; from ε̂ follows a guess of
the clean image **x̂_0**, and the sampler takes one small step towards it, giving x_{t-1}.
Like the forward chain, this is a Markov chain: each step sees only the current sample.

Only this direction is learned — the forward chain is fixed. Samplers differ in the step
they take, and in which noise axis they step along: DDPM's t, or σ = √((1−ᾱ)/ᾱ), the
noise-to-signal ratio that Karras-style samplers (and Stable Diffusion's "Sampler" menu) use.
The chart **Where the steps fall** shows a run's steps on both axes. **Same seed, every
sampler** runs them all from one x_T.

{samplers}

**Steering the chain.** The network also takes a label y — the digit to draw, the way a
text-to-image model takes a prompt — or the null label ∅ for "anything". **Guidance w**
mixes the two predictions, ε̂ = ε̂_∅ + w (ε̂_y − ε̂_∅) (classifier-free guidance, Ho &
Salimans 2022): w = 0 is the unconditional model, w = 1 the conditional one, and w > 1
pushes further along ε̂_y − ε̂_∅: cleaner, more typical digits, less variety (try **Same
seed, several w**). The default w = 3 applies only in the less noisy half of the chain (a
guidance interval, Kynkäänniemi et al. 2024): guiding the noisiest steps too makes the
digits alike.

**Where the chain decides.** After a run, the strip under the frames shows what the project's
digit classifier reads in x̂_0 at every step, p(y | x̂_0): ten rows, one column a step, darker
= more probable. Early on x̂_0 is a blur (often read as an 8); the red line marks the step
after which the reading no longer changes. Point at a sample in a grid to see its strip;
replaying a step boxes it.
"""

REVERSE_MODEL_NOTE = (
    "The network is a small UNet trained here on 4,500 MNIST digits (28×28) and their labels, "
    "with the linear schedule β: 1e-4 → 0.02, T = 1000 (Ho et al. 2020). The schedule panel "
    "above does not change this tab: the model only knows the schedule it was trained with."
)
# Where the checkpoint has no class embeddings (an older one through DIFFUSION_DEMO_CHECKPOINT).
UNCONDITIONAL_NOTE = (
    "This checkpoint is unconditional (trained without labels), so **Digit** and **Guidance** "
    "are disabled: every run samples the unconditional model."
)

ROUNDTRIP_EXPLAIN = """
### Off the data manifold, and a trajectory back
Real digits live on a thin "manifold" inside the space of all 28×28 images. The forward
chain pushes a digit **off** it: at level t it is x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε. The reverse
chain then draws a **trajectory back** onto the manifold. For small t the way back leads to
the same digit; past some t the noise has erased its identity, and the chain lands on a
*different* — but still real-looking — digit.

This is the VAE picture from the blog: the forward chain is the **encoder**, but it is fixed
(nothing to train); only the reverse chain, the **decoder**, is learned.

The strip under the frames shows which digit the way back chose, and at which step: what the
digit classifier reads in x̂_0 at every step, the red line where the reading stops changing,
and a green mark at x_0's own digit.
"""

SKETCH_EXPLAIN = (
    "**Draw a digit** (white on black) and bring it back from level t (SDEdit, Meng et al. 2022): "
    "small t keeps your scribble's wobbles, larger t redraws it as a clean digit, very large t "
    "forgets it. With a target digit the way back is steered: draw a 3, bring it back as an 8."
)
# Where a drawing's round trip lands, by how much of x_0 is left in x_t (sqrt(ᾱ_t)).
SKETCH_VERDICTS = (
    (0.8, "Small t: most of the drawing survives, wobbles and all — the chain only polishes it."),
    (
        0.3,
        "Medium t: the strokes' layout survives, the details are redrawn — a clean digit of the same shape.",
    ),
    (
        0.0,
        "Large t: almost nothing of the drawing is left — the chain lands on whatever digit the noise suggests.",
    ),
)

INPAINT_EXPLAIN = """
### Fill in the missing part
The learned chain is a **prior over digits**: any constraint can use it, with no new
training. Hide part of a digit (a preset, or paint the mask), then run the reverse chain
from noise. At every step the pixels to **keep** are replaced by the forward chain's
q(x_{t-1} | x_0) of the original, and only the pixels to **fill** come from the model
(RePaint, Lugmayr et al. 2022). **Jumps** r > 1 go back up a few steps and come down again,
so that the filled part has time to agree with the kept part. Sixteen completions side by
side show the model's uncertainty: a top half of a 7 may become a 7, a 9 or a 4.
"""
