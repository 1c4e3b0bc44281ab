"""The GPU check: everything this project has never run on a GPU, in one command (≤ 5 min).

    python benchmarks/gpu_check.py                 # on a machine with a CUDA GPU
    python benchmarks/gpu_check.py --clients 6     # a shorter classroom

On a CUDA machine, with the shipped model:
1. In-process, fp16 / bf16 / fp32 on the GPU: DDIM-50 × 16 (first frame, done) and
   DDPM-1000 × 16 (done); the fastest dtype is the one to ship (models/unet.py picks fp16).
2. The same seeds on the CPU (fp32) and on the GPU: the largest and mean pixel difference of
   x_0 and how many of the 16 digits the classifier reads the same (the stated tolerance:
   at least 15 of 16; pixels drift apart along a chain, digits should not).
3. Quality: 10 × 16 digits (digit "each") on the GPU in the fastest dtype, read by the
   project's classifier: the fraction read confidently, and as the digit asked for.
4. `python app.py` on the GPU (DIFFUSION_DEMO_DEVICE=cuda, the UNet eager unless --compile):
   every model endpoint once through gradio_client; then the classroom (benchmarks/
   classroom.py: --clients pressing Generate within 10 s, DDIM-50 × 16, against the same runs
   one after another), with the batching engine and without it (DIFFUSION_DEMO_ENGINE=0).

Prints what it does as it goes and one JSON line at the end. Without a CUDA GPU it checks its
arguments, says so and exits 0. Only loopback; every app it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MAX_CLIENTS = 64
DTYPES = ("fp16", "bf16", "fp32")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--clients", type=int, default=30, help=f"classroom students, 1..{MAX_CLIENTS} (30)")
    p.add_argument("--spread", type=float, default=10.0, help="they press within this many seconds (10)")
    p.add_argument(
        "--budget", type=float, default=300.0, help="seconds; later parts are skipped past it (300)"
    )
    p.add_argument("--skip-app", action="store_true", help="only the in-process parts (1-3)")
    p.add_argument(
        "--compile", action="store_true", help="let the app compile the UNet (slow to build on a GPU)"
    )
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be in 1..{MAX_CLIENTS}")
    if not 0 <= args.spread <= 60:
        p.error("--spread must be in 0..60 seconds")
    if not 30 <= args.budget <= 1800:
        p.error("--budget must be in 30..1800 seconds")
    if args.checkpoint is not None and not Path(args.checkpoint, "unet").is_dir():
        p.error(f"--checkpoint {args.checkpoint}: no unet/ folder there")
    return args


def timed_run(den, request) -> tuple[float, float, object]:
    """(first step s, done s, x_0) of one reverse chain, the GPU synchronised at both marks."""
    import torch

    from diffusion_demo.diffusion.sampling import reverse_chain

    torch.cuda.synchronize()
    start = time.perf_counter()
    first, x = None, None
    for record in reverse_chain(den, request):
        if first is None:
            torch.cuda.synchronize()
            first = time.perf_counter() - start
        x = record.prev_sample
    torch.cuda.synchronize()
    return first, time.perf_counter() - start, x.clamp(-1, 1)


def speeds(checkpoint: str) -> tuple[dict, str]:
    """Part 1: DDIM-50 × 16 and DDPM-1000 × 16 per dtype; returns (figures, fastest dtype)."""
    import torch

    from diffusion_demo.diffusion.sampling import ReverseRequest
    from diffusion_demo.models import unet

    out = {}
    for dtype in DTYPES:
        den = unet.load(checkpoint, device=torch.device("cuda"), autocast=dtype)
        timed_run(den, ReverseRequest(sampler="ddim", steps=5, num_samples=16, seed=1))  # warm-up
        first, done, _ = timed_run(den, ReverseRequest(sampler="ddim", steps=50, num_samples=16, seed=0))
        _, ddpm, _ = timed_run(den, ReverseRequest(sampler="ddpm", steps=1000, num_samples=16, seed=0))
        out[dtype] = {
            "ddim50x16_first_s": round(first, 4),
            "ddim50x16_done_s": round(done, 3),
            "ddpm1000x16_s": round(ddpm, 2),
        }
        print(f"{dtype}: {out[dtype]}", flush=True)
    best = min(DTYPES, key=lambda d: out[d]["ddim50x16_done_s"])
    return out, best


def digits01(x) -> object:
    return ((x[:, 0].float().cpu() + 1) / 2).clamp(0, 1).numpy()


def cpu_vs_gpu(checkpoint: str, clf) -> dict:
    """Part 2: the same seeds on the CPU (fp32) and on the GPU, per dtype."""
    import torch

    from diffusion_demo.diffusion.sampling import ReverseRequest, is_conditional
    from diffusion_demo.models import unet

    cpu = unet.load(checkpoint, device=torch.device("cpu"), autocast="fp32")
    digit = "each" if is_conditional(cpu) else "any"
    request = ReverseRequest(sampler="ddim", steps=50, num_samples=16, seed=0, digit=digit)
    _, _, ref = _cpu_sample(cpu, request)
    ref_labels = clf.predict(digits01(ref)).labels
    out = {}
    for dtype in DTYPES:
        den = unet.load(checkpoint, device=torch.device("cuda"), autocast=dtype)
        _, _, x = timed_run(den, request)
        diff = (x.cpu() - ref).abs()
        same = int((clf.predict(digits01(x)).labels == ref_labels).sum())
        out[dtype] = {
            "max_abs": round(float(diff.max()), 4),
            "mean_abs": round(float(diff.mean()), 5),
            "same_digit_of_16": same,
            "within_tolerance": same >= 15,
        }
        print(f"CPU vs GPU {dtype}: {out[dtype]}", flush=True)
    return out


def _cpu_sample(den, request):
    from diffusion_demo.diffusion.sampling import sample

    start = time.perf_counter()
    x = sample(den, request)
    return None, time.perf_counter() - start, x


def quality(checkpoint: str, dtype: str, clf) -> dict:
    """Part 3: 10 × 16 digits on the GPU, read by the classifier."""
    import numpy as np
    import torch

    from diffusion_demo.config import TARGETS
    from diffusion_demo.diffusion.sampling import ReverseRequest, is_conditional
    from diffusion_demo.models import unet

    den = unet.load(checkpoint, device=torch.device("cuda"), autocast=dtype)
    digit = "each" if is_conditional(den) else "any"
    xs = [
        timed_run(den, ReverseRequest(sampler="ddim", steps=50, num_samples=16, seed=s, digit=digit))[2]
        for s in range(10)
    ]
    pred = clf.predict(np.concatenate([digits01(x) for x in xs]))
    wanted = np.tile(np.arange(16) % 10, 10)  # "each": 0…9, 0…5 per grid (sampling.class_labels)
    return {
        "digits": len(pred.labels),
        "confident_fraction": round(float((pred.confidence >= TARGETS.confidence).mean()), 3),
        "read_as_asked": round(float((pred.labels == wanted).mean()), 3) if digit == "each" else None,
    }


def endpoints(url: str) -> dict:
    """Part 4a: every model endpoint once (small settings), its seconds or its error."""
    from gradio_client import Client, handle_file

    root = Path(__file__).resolve().parents[1]
    drawing = handle_file(str(root / "assets" / "examples" / "digit-3.png"))
    calls = {
        "/reverse": ("ddim", 50, 16, 0, 0.0),
        "/compare": (20, 4, 0, 0.0),
        "/compare_guidance": ("ddim", 20, 4, 0, 0.0),
        "/roundtrip": (None, 400, 0, "digit-3", "ddim", 100),
        "/roundtrip_sketch": ({"background": None, "layers": [], "composite": drawing}, 400, 0, "ddim", 100),
        "/roundtrip_curve": (None, 0, "digit-3", "ddim", 50),
        "/inpaint": (None, "top", 0, 50, 6),
        "/export_roundtrip": ("gif", None, 400, 0, "digit-3", "ddim", 100),
    }
    client = Client(url, verbose=False, download_files=False)
    out = {}
    for name, args in calls.items():
        start = time.perf_counter()
        try:
            client.predict(*args, api_name=name)
            out[name] = {"ok": True, "s": round(time.perf_counter() - start, 2)}
        except Exception as exc:  # noqa: BLE001 (reported)
            out[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        print(f"{name}: {out[name]}", flush=True)
    client.close()
    return out


def app_part(args, engine: bool, deadline: float) -> dict:
    """Part 4: the app on the GPU, with or without the batching engine."""
    import classroom
    import load

    env = {"DIFFUSION_DEMO_DEVICE": "cuda", "DIFFUSION_DEMO_ENGINE": "1" if engine else "0"}
    if not args.compile:
        env["DIFFUSION_DEMO_COMPILE"] = "0"
    proc, url = load.start_app(args.checkpoint, None, extra_env=env)
    out: dict = {}
    try:
        if engine:
            out["endpoints"] = endpoints(url)
        if time.monotonic() < deadline:
            ns = SimpleNamespace(clients=args.clients, spread=args.spread, steps=50, samples=16, seed=0)
            out["classroom"] = classroom.classroom(url, proc.pid, ns)
            print(
                f"classroom, engine {'on' if engine else 'off'}: {json.dumps(out['classroom'])}", flush=True
            )
        else:
            out["classroom"] = "skipped: over --budget"
    finally:
        load.stop_app(proc)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        print(
            f"gpu_check: no CUDA GPU here (torch {torch.__version__}, {build}): nothing to check.",
            file=sys.stderr,
        )
        print(json.dumps({"cuda": False, "torch": torch.__version__}))
        return 0
    from diffusion_demo.config import MODEL
    from diffusion_demo.models import classifier

    began = time.monotonic()
    deadline = began + args.budget
    checkpoint = args.checkpoint or str(MODEL.checkpoint)
    summary: dict = {"cuda": True, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    clf = classifier.load()
    summary["speed"], summary["best_dtype"] = speeds(checkpoint)
    summary["cpu_vs_gpu"] = cpu_vs_gpu(checkpoint, clf)
    summary["quality"] = quality(checkpoint, summary["best_dtype"], clf)
    if not args.skip_app:
        for engine in (True, False):
            key = "app_engine" if engine else "app_no_engine"
            summary[key] = (
                app_part(args, engine, deadline) if time.monotonic() < deadline else "skipped: over --budget"
            )
    summary["seconds"] = round(time.monotonic() - began, 1)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
