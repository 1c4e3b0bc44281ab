"""Fill in and draw: quality and speed of RePaint and of the drawing round trip, on this machine.

    python benchmarks/inpaint_bench.py            # ~5 minutes on 2 cores
    python benchmarks/inpaint_bench.py --quick    # fewer digits, a smoke run

Prints a table and one JSON line, on the shipped checkpoint (compiled for batch 16, as the app):
1. quality: held-out digits (never trained on) with their top or bottom half masked, one
   completion each (50 steps, the default r): the fraction the project's classifier reads with
   confidence >= 0.8 (target >= 90%), and how often as the original digit;
2. drawings: each digit 0-9 typeset large (DejaVu Sans) on a 280x280 canvas, and drawn twice as
   a mouse would (round strokes as wide as the sketchpad's brush, and 12 px wide), each
   preprocessed as MNIST (sketch.sketch_to_digit), noised to t = 500 and brought back by the
   tab's default chain (DDIM, 100 steps, unconditional), 3 seeds: read as itself?
3. speed: 16 completions with 50 steps at r = 1 against a DDIM-50 reverse run of 16 (w = 0, the
   same number of UNet calls; target <= 2x), r = 10, and the first record's latency.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diffusion_demo.config import INPAINT, MODEL, SKETCH  # noqa: E402


def options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="2 digits per class, 1 seed, 1 timing pair")
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint)
    return p


if __name__ == "__main__":  # --help and bad options answer before torch is imported (seconds)
    options().parse_args()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from diffusion_demo.diffusion.inpaint import InpaintRequest, inpaint, inpaint_chain, preset_mask  # noqa: E402
from diffusion_demo.diffusion.roundtrip import reconstruct  # noqa: E402
from diffusion_demo.diffusion.sampling import ReverseRequest, reverse_chain  # noqa: E402
from diffusion_demo.media.sketch import sketch_tensor  # noqa: E402
from diffusion_demo.models import classifier, unet  # noqa: E402
from diffusion_demo.serving import compiled  # noqa: E402
from diffusion_demo.training import data  # noqa: E402


def typeset(d: int) -> np.ndarray:
    """The digit d typeset white on a black 280x280 canvas: a clean stand-in for a drawing."""
    import matplotlib

    font = ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans.ttf"), 200)
    img = Image.new("L", (280, 280))
    ImageDraw.Draw(img).text((140, 140), str(d), fill=255, font=font, anchor="mm")
    return np.asarray(img)


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 24) -> list:
    return [
        (cx + rx * np.cos(np.radians(a)), cy + ry * np.sin(np.radians(a))) for a in np.linspace(a0, a1, n)
    ]


# Each digit drawn twice as a mouse would, as strokes (polylines) on the 280x280 canvas
# (y down; arcs in degrees, 0 = right, 90 = down).
STROKES = {
    0: [[_arc(140, 140, 60, 95, 0, 360, 40)], [_arc(140, 140, 50, 90, -80, 290, 40)]],
    1: [[[(140, 45), (140, 235)]], [[(115, 75), (150, 45), (150, 235)]]],
    2: [
        [_arc(140, 95, 55, 50, 200, 370, 20) + [(190, 115), (85, 235), (200, 235)]],
        [_arc(135, 100, 55, 55, 190, 380, 20) + [(90, 230), (195, 230)]],
    ],
    3: [
        [_arc(135, 95, 50, 45, 200, 450) + _arc(135, 185, 55, 48, -90, 160)],
        [[(90, 50), (185, 50), (130, 125)] + _arc(135, 180, 55, 52, -90, 160)],
    ],
    4: [
        [[(160, 45), (85, 170), (200, 170)], [(165, 100), (165, 240)]],
        [[(110, 45), (95, 150), (190, 150)], [(180, 50), (175, 240)]],
    ],
    5: [
        [[(190, 48), (100, 48), (95, 130)] + _arc(135, 175, 60, 55, -110, 150)],
        [[(185, 50), (105, 50), (100, 125), (150, 115)] + _arc(140, 175, 55, 60, -60, 160, 20)],
    ],
    6: [
        [[(175, 45)] + _arc(150, 140, 70, 100, 240, 180, 10)[1:] + _arc(140, 185, 55, 50, 180, 540, 30)],
        [[(170, 45), (110, 120), (90, 185)] + _arc(140, 185, 50, 50, 180, 530, 30)],
    ],
    7: [
        [[(85, 50), (200, 50), (120, 240)]],
        [[(85, 55), (195, 50), (150, 140), (125, 240)], [(115, 145), (185, 140)]],
    ],
    8: [
        [_arc(140, 90, 45, 45, 90, 450, 30) + _arc(140, 180, 55, 55, -90, 270, 30)],
        [_arc(140, 95, 50, 48, 60, 420, 30) + _arc(140, 185, 58, 52, -80, 280, 30)],
    ],
    9: [
        [_arc(140, 95, 55, 50, 0, 360, 30) + [(195, 95), (185, 240)]],
        [_arc(135, 95, 50, 50, -20, 350, 30) + [(185, 80), (160, 240)]],
    ],
}


def drawn(d: int, style: int, brush: int = 2 * SKETCH.brush_radius) -> np.ndarray:
    """The digit d drawn with round strokes `brush` px wide (the sketchpad's: twice its radius),
    white on a black 280x280 canvas."""
    img = Image.new("L", (280, 280))
    pen = ImageDraw.Draw(img)
    for line in STROKES[d][style]:
        points = [(float(x), float(y)) for x, y in line]
        pen.line(points, fill=255, width=brush, joint="curve")
        for x, y in (points[0], points[-1]):  # round ends, as the brush has
            pen.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill=255)
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


def back_as_itself(den, clf, canvases: dict[int, list[np.ndarray]], seeds: int, t: int = 500) -> dict:
    """The fraction of round trips from t (the tab's chain: DDIM-100, unconditional) read as the
    digit drawn, overall and per digit."""
    per = {}
    for d, drawings in canvases.items():
        ok = 0
        for canvas in drawings:
            x0 = sketch_tensor(canvas)[None]
            for s in range(seeds):
                back = reconstruct(den, x0, t, ReverseRequest("ddim", 100, 1, s, guidance=0.0))
                ok += int(clf.predict(((back + 1) / 2).numpy()).labels[0] == d)
        per[d] = ok / (seeds * len(drawings))
    return {"overall": float(np.mean(list(per.values()))), "per_digit": per}


def heldout_roundtrip(den, clf, per_class: int) -> dict:
    """Held-out digits (never trained on) pushed to t and brought back by the tab's chain
    (DDIM-100, unconditional), all in one batch: back on the manifold (confidently read) from
    t = 500, and back as themselves from t = 300 and 400."""
    (_, _), (x_ho, y_ho) = data.split()
    picks = np.concatenate([np.flatnonzero(y_ho == c)[:per_class] for c in range(10)])
    x0 = torch.from_numpy(x_ho[picks]).unsqueeze(1) * 2 - 1
    out: dict = {"roundtrip_digits": len(picks)}
    for t in (300, 400, 500):
        back = reconstruct(den, x0, t, ReverseRequest("ddim", 100, len(picks), 0, guidance=0.0))
        pred = clf.predict(((back + 1) / 2).numpy())
        out[f"heldout_t{t}_confident"] = float((pred.confidence >= 0.8).mean())
        out[f"heldout_t{t}_as_itself"] = float((pred.labels == y_ho[picks]).mean())
    return out


def drawing_roundtrip(den, clf, seeds: int) -> dict:
    typeset_back = back_as_itself(den, clf, {d: [typeset(d)] for d in range(10)}, seeds)
    strokes = {d: [drawn(d, 0), drawn(d, 1)] for d in range(10)}
    strokes_back = back_as_itself(den, clf, strokes, seeds)
    # the tab's default t (the round-trip slider starts at 400)
    strokes_default = back_as_itself(den, clf, strokes, seeds, t=400)
    thin_back = back_as_itself(den, clf, {d: [drawn(d, 0, 12), drawn(d, 1, 12)] for d in range(10)}, seeds)
    return {
        "drawing_t500_as_itself": typeset_back["overall"],
        "drawing_per_digit": typeset_back["per_digit"],
        "strokes_t500_as_itself": strokes_back["overall"],
        "strokes_per_digit": strokes_back["per_digit"],
        "strokes_t400_as_itself": strokes_default["overall"],
        "strokes_t400_per_digit": strokes_default["per_digit"],
        "thin_strokes_t500_as_itself": thin_back["overall"],
    }


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
    args = options().parse_args()
    den = unet.load(args.checkpoint)
    compile_s = compiled.warm_seconds(den)  # as the app does at start-up: the cached package
    clf = classifier.load()
    res: dict = {"compile_s": compile_s, "default_jumps": INPAINT.default_jumps}
    res |= speed(den, 1 if args.quick else 3)
    res |= fill_quality(den, clf, 2 if args.quick else 10)
    res |= heldout_roundtrip(den, clf, 2 if args.quick else 10)
    res |= drawing_roundtrip(den, clf, 1 if args.quick else 3)
    rows = [
        ("held-out digits, top half filled: confident", res["top_confident"], "target >= 0.9"),
        ("  ... read as the original digit", res["top_as_original"], ""),
        ("held-out digits, bottom half filled: confident", res["bottom_confident"], "target >= 0.9"),
        ("  ... read as the original digit", res["bottom_as_original"], ""),
        ("held-out digits back from t = 500: confident", res["heldout_t500_confident"], "target >= 0.95"),
        ("held-out digits back from t = 400: as themselves", res["heldout_t400_as_itself"], ""),
        ("held-out digits back from t = 300: as themselves", res["heldout_t300_as_itself"], "target >= 0.9"),
        (
            f"strokes {2 * SKETCH.brush_radius} px wide, back from t = 400 (the tab's): as itself",
            res["strokes_t400_as_itself"],
            "target >= 0.85",
        ),
        ("typeset digit drawn, back from t = 500: as itself", res["drawing_t500_as_itself"], ""),
        (
            f"strokes {2 * SKETCH.brush_radius} px wide, back from t = 500: as itself",
            res["strokes_t500_as_itself"],
            "",
        ),
        ("strokes 12 px wide, back from t = 500: as itself", res["thin_strokes_t500_as_itself"], ""),
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
