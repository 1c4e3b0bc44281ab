"""Fill in and draw: quality and speed of RePaint and of the drawing round trip, on this machine.

    python benchmarks/inpaint_bench.py            # ~5 minutes on 2 cores
    python benchmarks/inpaint_bench.py --quick    # fewer digits, a smoke run

Prints a table and one JSON line, on the shipped checkpoint (compiled for batch 16, as the app):
1. quality: held-out digits (never trained on) with their top or bottom half masked, one
   completion each (50 steps, the default r): the fraction the project's classifier reads with
   confidence >= 0.8 (target >= 90%), and how often as the original digit;
2. drawings: each digit 0-9 typeset large (DejaVu Sans) on a 280x280 canvas as a stand-in for a
   clear sketch, preprocessed as MNIST (sketch.sketch_to_digit), noised to t = 500 and brought
   back by the tab's default chain (DDIM, 100 steps, unconditional), 3 seeds: read as itself?
3. speed: 16 completions with 50 steps at r = 1 against a DDIM-50 reverse run of 16 (w = 0, the
   same number of UNet calls; target <= 2x), r = 10, and the first record's latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diffusion_demo.config import INPAINT  # noqa: E402
from diffusion_demo.diffusion.inpaint import InpaintRequest, inpaint, inpaint_chain, preset_mask  # noqa: E402
from diffusion_demo.diffusion.roundtrip import reconstruct  # noqa: E402
from diffusion_demo.diffusion.sampling import ReverseRequest, reverse_chain  # noqa: E402
from diffusion_demo.media.sketch import sketch_tensor  # noqa: E402
from diffusion_demo.models import (  # noqa: E402
    classifier,
    compiled,
    unet,
)
from diffusion_demo.training import data


def typeset(d: int) -> np.ndarray:
    """The digit d typeset white on a black 280x280 canvas: a clean stand-in for a drawing."""
    import matplotlib

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), 200)
    img = Image.new("L", (280, 280))
    ImageDraw.Draw(img).text((140, 140), str(d), fill=255, font=font, anchor="mm")
    return np.asarray(img)


def fill_quality(den, clf, per_class: int) -> dict:
    (_, _), (x_ho, y_ho) = data.split()
    picks = np.concatenate([np.flatnonzero(y_ho == c)[:per_class] for c in range(10)])
    x0 = torch.from_numpy(x_ho[picks]).unsqueeze(1) * 2 - 1
    out: dict = {}
    for half in ("top", "bottom"):
        request = InpaintRequest(num_samples=len(picks), seed=0)
        done = inpaint(den, x0, preset_mask(half), request)
        pred = clf.predict(((done + 1) / 2).numpy())
        out[f"{half}_confident"] = float((pred.confidence >= 0.8).mean())
        out[f"{half}_as_original"] = float((pred.labels == y_ho[picks]).mean())
    out["fill_digits"] = len(picks)
    return out


def drawing_roundtrip(den, clf, seeds: int) -> dict:
    hits, total, per = 0, 0, {}
    for d in range(10):
        x0 = sketch_tensor(typeset(d))[None]
        ok = 0
        for s in range(seeds):
            back = reconstruct(den, x0, 500, ReverseRequest("ddim", 100, 1, s, guidance=0.0))
            ok += int(clf.predict(((back + 1) / 2).numpy()).labels[0] == d)
        per[d] = ok / seeds
        hits, total = hits + ok, total + seeds
    return {"drawing_t500_as_itself": hits / total, "drawing_per_digit": per}


def timed_chain(chain) -> tuple[float, float]:
    start, first = time.perf_counter(), None
    for _ in chain:
        first = first or time.perf_counter() - start
    return time.perf_counter() - start, first


def speed(den, repeats: int) -> dict:
    digit = torch.full((1, 1, 28, 28), -1.0)
    digit[..., 6:22, 12:16] = 1.0
    fill = preset_mask("top")
    rev = ReverseRequest("ddim", 50, 16, seed=0, guidance=0.0)
    runs = {"reverse": [], "r1": [], "r10": []}
    firsts = []
    for _ in range(repeats):  # alternated: this machine's noise is larger than the differences
        runs["reverse"].append(timed_chain(reverse_chain(den, rev))[0])
        total, first = timed_chain(inpaint_chain(den, digit, fill, InpaintRequest(steps=50, jumps=1)))
        runs["r1"].append(total)
        firsts.append(first)
    total, first = timed_chain(inpaint_chain(den, digit, fill, InpaintRequest(steps=50, jumps=10)))
    firsts.append(first)
    med = {k: float(np.median(v)) for k, v in runs.items() if v}
    return {
        "ddim50_reverse_s": med["reverse"],
        "inpaint_r1_s": med["r1"],
        "inpaint_r1_vs_reverse": med["r1"] / med["reverse"],
        "inpaint_r10_s": total,
        "first_record_s": float(max(firsts)),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 digits per class, 1 seed, 1 timing pair")
    p.add_argument("--checkpoint", type=Path, default=unet.MODEL.checkpoint)
    args = p.parse_args()
    den = unet.load(args.checkpoint)
    compile_s = compiled.warm_seconds(den)  # as the app does at start-up: the cached package
    clf = classifier.load()
    res: dict = {"compile_s": compile_s, "default_jumps": INPAINT.default_jumps}
    res |= speed(den, 1 if args.quick else 3)
    res |= fill_quality(den, clf, 2 if args.quick else 10)
    res |= drawing_roundtrip(den, clf, 1 if args.quick else 3)
    rows = [
        ("held-out digits, top half filled: confident", res["top_confident"], "target >= 0.9"),
        ("  ... read as the original digit", res["top_as_original"], ""),
        ("held-out digits, bottom half filled: confident", res["bottom_confident"], "target >= 0.9"),
        ("  ... read as the original digit", res["bottom_as_original"], ""),
        ("typeset digit drawn, back from t = 500: as itself", res["drawing_t500_as_itself"], ""),
        ("DDIM-50 reverse, 16 samples, w = 0 (s)", res["ddim50_reverse_s"], ""),
        (
            "fill in, 16 completions, 50 steps, r = 1 (s)",
            res["inpaint_r1_s"],
            f"{res['inpaint_r1_vs_reverse']:.2f}x (<= 2)",
        ),
        ("fill in, r = 10 (s)", res["inpaint_r10_s"], ""),
        ("first record (s)", res["first_record_s"], "<= 0.5"),
    ]
    for name, value, note in rows:
        print(f"{name:<52} {value:>8.3f}  {note}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}))


if __name__ == "__main__":
    main()
