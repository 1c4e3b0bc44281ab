"""Speed and memory of the reverse chain against diffusers' stock pipelines, on this machine.

    python benchmarks/bench.py            # full run (~8 minutes on 2 cores)
    python benchmarks/bench.py --quick    # fewer steps, a smoke run

Prints a table and one JSON line. Measures, in one run, on the shipped checkpoint:
1. diffusers DDPMPipeline (16 samples, 1000 steps) and DDIMPipeline (16 samples, 50 steps);
   for a class-conditional checkpoint (which those pipelines cannot call: they pass no
   labels) the same loop as theirs, with class_labels passed and the guided pair [x, x]
   with [y, ∅] in one batch, as diffusers' guided pipelines do; the app's chain also runs
   at w = 0 (one pass, the unconditional model);
2. the app's reverse generator consumed as the UI consumes it (frames, equations, replay);
3. the same generator producing no frames (streaming overhead = 2 vs 3, the median of
   alternated pairs; and the time outside the chain's steps within the runs of 2);
4. the fp32 and bf16 GEMM peaks of this machine and the chain's FLOPs (torch.utils.flop_counter);
5. time to first frame, /forward p50/p95 through gradio_client (512×512 RGB), the app's RSS
   over 20 reverse runs;
6. /reverse through the running app (`python app.py` in its own process, as users run it) with
   gradio_client: what a user waits for, frames and all, next to the bare chain of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # load.py: starting and stopping the app

from diffusion_demo.config import MODEL  # noqa: E402


def options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="100 DDPM steps instead of 1000")
    p.add_argument("--checkpoint", type=Path, default=MODEL.checkpoint)
    p.add_argument("--skip-server", action="store_true", help="skip the gradio_client measurements")
    return p


if __name__ == "__main__":  # --help and bad options answer before torch is imported (seconds)
    options().parse_args()

import load  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler, UNet2DModel  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from diffusion_demo.config import GUIDANCE  # noqa: E402
from diffusion_demo.diffusion.sampling import ReverseRequest, class_labels, reverse_chain  # noqa: E402
from diffusion_demo.models import unet  # noqa: E402
from diffusion_demo.serving import compiled  # noqa: E402
from diffusion_demo.ui import frames as frames_module  # noqa: E402
from diffusion_demo.ui.frames import Replay, stream  # noqa: E402


def timed(fn, repeats: int = 1) -> float:
    """Best-of-`repeats` wall time of fn() in seconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_peak(dtype: torch.dtype, n: int = 1024, repeats: int = 10) -> float:
    """GFLOP/s of an n×n×n matmul, best of a few runs."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    return 2 * n**3 / timed(lambda: a @ b, repeats) / 1e9


def unet_flops(den: unet.Denoiser, batch: int) -> float:
    """FLOPs of one UNet evaluation on a batch (one pass: a guided step makes two)."""
    labels = None if den.null_label is None else torch.zeros(batch, dtype=torch.long)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        den.unet(torch.randn(batch, *den.sample_shape), torch.tensor(500), class_labels=labels)
    return float(counter.get_total_flops())


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def diffusers_loop(unet: UNet2DModel, scheduler, steps: int, batch: int, w: float) -> torch.Tensor:
    """DDPMPipeline.__call__'s loop (fp32, no_grad), with class_labels passed: the guided pair
    in one batch as diffusers' guided pipelines make it (w = 1: the conditional pass alone)."""
    gen = torch.Generator().manual_seed(0)
    labels = class_labels("any", batch, 0)
    null = torch.full_like(labels, unet.config.num_class_embeds - 1)
    image = torch.randn((batch, unet.config.in_channels, 28, 28), generator=gen)
    scheduler.set_timesteps(steps)
    with torch.no_grad():
        for t in scheduler.timesteps:
            if w == 1:
                eps = unet(image, t, class_labels=labels).sample
            else:
                cond, uncond = unet(
                    torch.cat([image] * 2), t, class_labels=torch.cat([labels, null])
                ).sample.chunk(2)
                eps = uncond + w * (cond - uncond)
            image = scheduler.step(eps, t, image, generator=gen).prev_sample
    return image


def stock_pipelines(path: Path, steps_ddpm: int, steps_ddim: int, batch: int) -> dict[str, float]:
    """diffusers' own pipelines as a user would call them (fp32, their defaults); their loop
    with labels for a class-conditional checkpoint (at the app's default w)."""
    unet = UNet2DModel.from_pretrained(path / "unet")
    if unet.config.num_class_embeds:
        ddpm_s = DDPMScheduler.from_pretrained(path / "scheduler")
        ddim_s = DDIMScheduler.from_config(ddpm_s.config)
        w = GUIDANCE.default_w
        return {
            "ddpm_pipeline_s": timed(lambda: diffusers_loop(unet, ddpm_s, steps_ddpm, batch, w)),
            "ddim_pipeline_s": timed(lambda: diffusers_loop(unet, ddim_s, steps_ddim, batch, w)),
        }
    ddpm = DDPMPipeline.from_pretrained(path)
    ddpm.set_progress_bar_config(disable=True)
    ddim = DDIMPipeline(unet=ddpm.unet, scheduler=DDIMScheduler.from_config(ddpm.scheduler.config))
    ddim.set_progress_bar_config(disable=True)
    gen = torch.Generator().manual_seed(0)
    return {
        "ddpm_pipeline_s": timed(
            lambda: ddpm(batch_size=batch, num_inference_steps=steps_ddpm, generator=gen)
        ),
        "ddim_pipeline_s": timed(
            lambda: ddim(batch_size=batch, num_inference_steps=steps_ddim, generator=gen)
        ),
    }


def app_chain(den: unet.Denoiser, request: ReverseRequest, frames: bool) -> dict[str, float]:
    """One run of the app's generator, with or without frames: total seconds, seconds to the
    first frame, and (with frames) the seconds spent inside the chain's own steps, so that
    the rest, streaming's own cost, is measured within the run as well as against a run
    without frames."""
    in_chain = 0.0

    def clocked_chain(*args, **kwargs):  # the same chain, its steps timed
        nonlocal in_chain
        steps = reverse_chain(*args, **kwargs)
        while True:
            begun = time.perf_counter()
            record = next(steps, None)
            in_chain += time.perf_counter() - begun
            if record is None:
                return
            yield record

    start = time.perf_counter()
    first = None
    if frames:
        with mock.patch.object(frames_module, "reverse_chain", clocked_chain):
            for _ in stream(den, request, Replay(request.steps)):
                first = first or time.perf_counter() - start
    else:
        for _ in reverse_chain(den, request):
            first = first or time.perf_counter() - start
    total = time.perf_counter() - start
    return {"total": total, "first": first, "in_chain": in_chain if frames else total}


def streaming_overhead(den: unet.Denoiser, request: ReverseRequest, pairs: int) -> dict[str, float]:
    """Runs with and without frames, alternated in `pairs`: this shared 2-core machine's
    run-to-run noise (±15%, single runs up to +40%) is larger than the difference measured,
    so the overhead is the median of the pairs' ratios, not the ratio of two single runs."""
    app_chain(den, ReverseRequest(sampler=request.sampler, steps=5, num_samples=request.num_samples), True)
    runs = [(app_chain(den, request, True), app_chain(den, request, False)) for _ in range(pairs)]
    with_frames = [a for a, _ in runs]
    return {
        "app_s": float(np.median([a["total"] for a in with_frames])),
        "app_noframes_s": float(np.median([b["total"] for _, b in runs])),
        "first_frame_s": float(np.median([a["first"] for a in with_frames])),
        "overhead": float(np.median([a["total"] / b["total"] - 1 for a, b in runs])),
        # the same runs' own accounting: time outside the chain's steps / time inside them
        "overhead_in_run": float(np.median([a["total"] / a["in_chain"] - 1 for a in with_frames])),
        "pairs": pairs,
    }


def forward_round_trip(den: unet.Denoiser, n: int = 30) -> dict:
    """/forward p50/p95 (ms) through a real gradio_client, two ways, and the RSS over 20 reverse runs.

    gradio_client builds a new httpx client (and with it a TLS context, ~34 ms here) for
    every upload, queue join and result stream, even for an http:// URL; `ssl_verify=False`
    (the library's own option, meaningless without TLS) skips that. Both are reported.
    """
    from gradio_client import Client, handle_file
    from PIL import Image

    from diffusion_demo.ui import build_demo, launch_kwargs

    demo = build_demo(denoiser=den)
    kwargs = launch_kwargs(port=0) | {"server_port": None, "quiet": True, "prevent_thread_lock": True}
    _, url, _ = demo.launch(**kwargs)
    out: dict = {}
    try:
        clients = {
            "default": Client(url, verbose=False, download_files=False),
            "no_tls": Client(url, verbose=False, download_files=False, ssl_verify=False),
        }
        with tempfile.TemporaryDirectory() as tmp:
            img = Path(tmp) / "photo.png"
            rng = np.random.default_rng(0)  # noise: the least compressible 512×512 RGB upload
            Image.fromarray(rng.integers(0, 255, (512, 512, 3), dtype=np.uint8)).save(img)
            for name, client in clients.items():
                times = []
                for i in range(n + 3):
                    start = time.perf_counter()
                    client.predict(
                        image=handle_file(str(img)),
                        t=(37 * i) % 1000,
                        schedule="linear",
                        seed=1,
                        api_name="/forward",
                    )
                    if i >= 3:  # warm-up: the first upload and cache writes
                        times.append((time.perf_counter() - start) * 1000)
                out[f"forward_{name}_p50_ms"] = float(np.percentile(times, 50))
                out[f"forward_{name}_p95_ms"] = float(np.percentile(times, 95))
        rss = []
        for i in range(20):
            clients["default"].predict(
                sampler="ddim", steps=50, num_samples=16, seed=i, eta=0.0, api_name="/reverse"
            )
            rss.append(rss_mb())
        out |= {"rss_first_mb": rss[0], "rss_last_mb": rss[-1], "rss_peak_mb": max(rss)}
        return out
    finally:
        demo.close()


def through_app(ddpm_steps: int) -> dict:
    """/reverse DDIM-50 and DDPM through `python app.py` (its own process) with gradio_client:
    total seconds, streamed updates and the first update's arrival."""
    from gradio_client import Client

    out: dict = {}
    with tempfile.TemporaryFile("w+") as log:
        app, url = load.start_app(None, None, log=log)
        try:
            deadline = time.time() + 600
            while time.time() < deadline:  # the background compile is done
                log.seek(0)
                text = log.read()
                if "compiled UNet" in text or "running eagerly" in text or app.poll() is not None:
                    break
                time.sleep(1)
            client = Client(url, verbose=False, download_files=False, ssl_verify=False)
            args = dict(num_samples=16, seed=0, eta=0.0, api_name="/reverse")
            client.predict(sampler="ddim", steps=5, **args)  # warm-up
            for name, steps, repeats in (("ddim", 50, 3), ("ddpm", ddpm_steps, 1)):
                best = (float("inf"), 0, 0.0)
                for _ in range(repeats):
                    start, first, updates = time.perf_counter(), None, 0
                    job = client.submit(sampler=name, steps=steps, **args)
                    for _update in job:
                        updates += 1
                        first = first or time.perf_counter() - start
                    job.result()
                    best = min(best, (time.perf_counter() - start, updates, first))
                out |= {
                    f"{name}_through_app_s": best[0],
                    f"{name}_through_app_updates": best[1],
                    f"{name}_through_app_first_s": best[2],
                }
            client.close()
        finally:
            load.stop_app(app)
    return out


def main() -> None:
    args = options().parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    batch, ddpm_steps, ddim_steps = 16, (100 if args.quick else 1000), 50

    den = unet.load(args.checkpoint)
    compile_s = compiled.warm_seconds(den)  # as the app does at start-up: the cached package
    res: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "compute_dtype": str(den.autocast or torch.float32).replace("torch.", ""),
        "ddpm_steps": ddpm_steps,
        "compile_s": compile_s,
    }
    res |= stock_pipelines(args.checkpoint, ddpm_steps, ddim_steps, batch)
    for name, steps, pairs in (("ddpm", ddpm_steps, 2), ("ddim", ddim_steps, 12)):
        request = ReverseRequest(sampler=name, steps=steps, num_samples=batch, seed=0)
        res |= {f"{name}_{k}": v for k, v in streaming_overhead(den, request, pairs).items()}
        res[f"{name}_vs_pipeline"] = res[f"{name}_app_s"] / res[f"{name}_pipeline_s"]
    # w = 0: one UNet pass per step (the unconditional model), interleaved with the default
    unguided = ReverseRequest(sampler="ddim", steps=ddim_steps, num_samples=batch, seed=0, guidance=0.0)
    default = ReverseRequest(sampler="ddim", steps=ddim_steps, num_samples=batch, seed=0)
    pairs = [
        (app_chain(den, unguided, True)["total"], app_chain(den, default, True)["total"]) for _ in range(5)
    ]
    res["ddim_w0_app_s"] = float(np.median([a for a, _ in pairs]))
    res["ddim_default_app_s"] = float(np.median([b for _, b in pairs]))
    res["default_guidance"] = GUIDANCE.default_w if den.null_label is not None else None
    flops = unet_flops(den, batch)
    res["gflop_per_image_step"] = flops / batch / 1e9
    res["ddpm_achieved_gflops"] = flops * ddpm_steps / res["ddpm_app_noframes_s"] / 1e9
    res["fp32_gemm_peak_gflops"] = gemm_peak(torch.float32)
    res["bf16_gemm_peak_gflops"] = gemm_peak(torch.bfloat16)
    res["roofline_fraction_fp32"] = res["ddpm_achieved_gflops"] / res["fp32_gemm_peak_gflops"]
    if not args.skip_server:
        res |= forward_round_trip(den)
        res |= through_app(ddpm_steps)
        for name in ("ddim", "ddpm"):
            res[f"{name}_through_app_vs_bare"] = res[f"{name}_through_app_s"] / res[f"{name}_app_noframes_s"]

    rows = [
        (f"DDPMPipeline, {ddpm_steps} steps, 16 samples", res["ddpm_pipeline_s"], "s", "peer"),
        (
            f"app chain DDPM-{ddpm_steps} with streaming",
            res["ddpm_app_s"],
            "s",
            f"{res['ddpm_vs_pipeline']:.2f}× pipeline (target ≤ 0.6)",
        ),
        (
            "  same, no frames",
            res["ddpm_app_noframes_s"],
            "s",
            f"overhead {res['ddpm_overhead']:+.1%} (≤ 5%; median of {res['ddpm_pairs']} alternated pairs), "
            f"{res['ddpm_overhead_in_run']:+.1%} by in-run accounting",
        ),
        ("DDIMPipeline, 50 steps, 16 samples", res["ddim_pipeline_s"], "s", "peer"),
        (
            "app chain DDIM-50 with streaming",
            res["ddim_app_s"],
            "s",
            f"{res['ddim_vs_pipeline']:.2f}× pipeline; target ≤ 2.5 s with two passes",
        ),
        (
            "  same, no frames",
            res["ddim_app_noframes_s"],
            "s",
            f"overhead {res['ddim_overhead']:+.1%} (≤ 5%; median of {res['ddim_pairs']} alternated pairs), "
            f"{res['ddim_overhead_in_run']:+.1%} by in-run accounting",
        ),
        (
            "app chain DDIM-50, w = 0 (one pass)",
            res["ddim_w0_app_s"],
            "s",
            f"target ≤ 1.5 s; at the default w = {res['default_guidance']}: {res['ddim_default_app_s']:.3f} s "
            "(median of 5 alternated pairs)",
        ),
        ("time to first frame (DDIM-50)", res["ddim_first_frame_s"], "s", "target ≤ 0.5 s"),
        ("UNet GFLOP per image per step", res["gflop_per_image_step"], "", ""),
        ("chain achieved GFLOP/s (DDPM, no frames)", res["ddpm_achieved_gflops"], "", ""),
        (
            "fp32 GEMM peak GFLOP/s",
            res["fp32_gemm_peak_gflops"],
            "",
            f"achieved/peak = {res['roofline_fraction_fp32']:.2f} (target ≥ 0.6)",
        ),
        ("bf16 GEMM peak GFLOP/s", res["bf16_gemm_peak_gflops"], "", ""),
    ]
    if "forward_default_p50_ms" in res:
        rows += [
            (
                "/forward round trip p50 (512×512 RGB upload)",
                res["forward_no_tls_p50_ms"],
                "ms",
                f"target ≤ 100 ms; Client(..., ssl_verify=False), p95 {res['forward_no_tls_p95_ms']:.0f} ms",
            ),
            (
                "  same, gradio_client's defaults",
                res["forward_default_p50_ms"],
                "ms",
                f"p95 {res['forward_default_p95_ms']:.0f} ms (a new TLS context per request)",
            ),
            (
                "/reverse DDIM-50 through `python app.py`",
                res["ddim_through_app_s"],
                "s",
                f"{res['ddim_through_app_vs_bare']:.2f}× the bare chain; {res['ddim_through_app_updates']} "
                f"updates, first after {res['ddim_through_app_first_s'] * 1000:.0f} ms",
            ),
            (
                f"/reverse DDPM-{ddpm_steps} through `python app.py`",
                res["ddpm_through_app_s"],
                "s",
                f"{res['ddpm_through_app_vs_bare']:.2f}× the bare chain; {res['ddpm_through_app_updates']} "
                f"updates, first after {res['ddpm_through_app_first_s'] * 1000:.0f} ms",
            ),
            (
                "RSS after run 1 / 20 / peak",
                res["rss_first_mb"],
                "MB",
                f"{res['rss_last_mb']:.0f} / {res['rss_peak_mb']:.0f} MB (flat, ≤ 1500)",
            ),
        ]
    how = f"compiled (AOTInductor, cached) in {compile_s:.0f} s" if compile_s else "eager"
    print(f"\n{res['machine']} · {res['threads']} threads · UNet in {res['compute_dtype']}, {how}\n")
    for name, value, unit, note in rows:
        print(f"{name:<46} {value:>9.3f} {unit:<3} {note}")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in res.items()}))


if __name__ == "__main__":
    main()
