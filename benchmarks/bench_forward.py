"""How fast is the forward tab? `python benchmarks/bench_forward.py [--calls 30]`

Prints, then repeats as one JSON line:
- server-side time of one x_t (closed form, diffusers add_noise) for a 512×512 RGB image;
- the same for the tab's work size (what a slider drag computes), with the formula;
- p50/p95 round trip of /forward through a real gradio_client on loopback.

No assertions: timings depend on the machine (run it on an idle one for numbers to quote).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def time_it(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls", type=int, default=30, help="round trips through gradio_client (default 30)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from diffusion_demo.diffusion import forward
    from diffusion_demo.diffusion.schedules import ScheduleSpec
    from diffusion_demo.media import equations, images, plots
    from diffusion_demo.ui import build_demo
    from diffusion_demo.ui.tabs import forward as forward_tab

    spec = ScheduleSpec("linear")
    photo = images.load_image(images.examples()["photo-landscape"]).resize(
        (512, 512), Image.Resampling.BICUBIC
    )
    x0 = images.to_tensor(photo)
    eps = forward.fixed_noise(tuple(x0.shape), 0)
    ts = iter(np.tile(np.arange(1, 1001), 100).tolist())

    xt_512 = time_it(lambda: forward.q_sample(x0, next(ts), spec, eps), 50)
    xt_512_png = time_it(lambda: images.to_pil(forward.q_sample(x0, next(ts), spec, eps)), 20)
    drag = time_it(lambda: forward_tab.forward_view(None, next(ts), "linear", 0, None, 1e-4, 0.02, 1000), 30)
    # histogram: figure built and rendered to an image (what the UI sends)
    hist = time_it(lambda: forward_tab.histogram(None, next(ts), "linear", 0, None, 1e-4, 0.02, 1000), 10)
    marker = time_it(lambda: plots.schedule_chart(spec, ["cosine"], next(ts)), 30)
    formula = time_it(lambda: equations.forward_md(spec, next(ts)), 50)

    demo = build_demo(denoiser=None, checkpoint_error="benchmark")
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", ssr_mode=False, quiet=True)
    try:
        from gradio_client import Client, handle_file

        client = Client(url, verbose=False)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "photo-512.png"
            photo.save(path)
            upload = handle_file(str(path))
            client.predict(image=upload, t=1, api_name="/forward")  # warm-up (and upload cache)
            rt_upload, rt_example, rt_base = [], [], []
            for _ in range(args.calls):
                t0 = time.perf_counter()
                client.predict(schedule="cosine", T=10, api_name="/schedule")
                rt_base.append((time.perf_counter() - t0) * 1000)
            for i in range(args.calls):
                t0 = time.perf_counter()
                client.predict(
                    image=upload, t=1 + 31 * i % 1000, schedule="linear", seed=0, api_name="/forward"
                )
                rt_upload.append((time.perf_counter() - t0) * 1000)
            for i in range(args.calls):
                t0 = time.perf_counter()
                client.predict(t=1 + 31 * i % 1000, schedule="cosine", seed=0, api_name="/forward")
                rt_example.append((time.perf_counter() - t0) * 1000)
    finally:
        demo.close()

    result = {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "xt_512_rgb_ms_p50": round(statistics.median(xt_512), 2),
        "xt_512_rgb_ms_p95": round(percentile(xt_512, 95), 2),
        "xt_512_rgb_to_pil_ms_p50": round(statistics.median(xt_512_png), 2),
        "drag_xt_and_formula_ms_p50": round(statistics.median(drag), 2),
        "histogram_figure_ms_p50": round(statistics.median(hist), 2),
        "formula_ms_p50": round(statistics.median(formula), 3),
        "schedule_marker_ms_p50": round(statistics.median(marker), 2),
        "forward_roundtrip_upload_512_ms_p50": round(statistics.median(rt_upload), 1),
        "forward_roundtrip_upload_512_ms_p95": round(percentile(rt_upload, 95), 1),
        "forward_roundtrip_example_ms_p50": round(statistics.median(rt_example), 1),
        "forward_roundtrip_example_ms_p95": round(percentile(rt_example, 95), 1),
        "schedule_T10_roundtrip_ms_p50": round(statistics.median(rt_base), 1),
        "calls": args.calls,
    }
    n = args.calls
    lines = [
        (
            "one x_t, 512×512 RGB, server side",
            f"p50 {result['xt_512_rgb_ms_p50']} ms, p95 {result['xt_512_rgb_ms_p95']} ms",
        ),
        ("  … and converted to an image", f"p50 {result['xt_512_rgb_to_pil_ms_p50']} ms"),
        ("one slider drag (x_t 256 px + formula)", f"p50 {result['drag_xt_and_formula_ms_p50']} ms"),
        ("pixel histogram, rendered", f"p50 {result['histogram_figure_ms_p50']} ms"),
        ("schedule chart, marker moved (blit)", f"p50 {result['schedule_marker_ms_p50']} ms"),
        (
            "/forward round trip, 512 px upload",
            f"p50 {result['forward_roundtrip_upload_512_ms_p50']} ms, "
            f"p95 {result['forward_roundtrip_upload_512_ms_p95']} ms ({n} calls)",
        ),
        (
            "/forward round trip, shipped example",
            f"p50 {result['forward_roundtrip_example_ms_p50']} ms, "
            f"p95 {result['forward_roundtrip_example_ms_p95']} ms ({n} calls)",
        ),
        (
            "baseline: /schedule with T = 10",
            f"p50 {result['schedule_T10_roundtrip_ms_p50']} ms (queue + client)",
        ),
    ]
    for label, value in lines:
        print(f"{label:<42}{value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
