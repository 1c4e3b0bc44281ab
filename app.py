"""Order From Chaos: `python app.py` serves the demo on http://127.0.0.1:7860.

--host/--port (or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT) change the address.
"""

from __future__ import annotations

import argparse
import os

from diffusion_demo.config import MODEL
from diffusion_demo.serving import worker

# A Hugging Face ZeroGPU Space (SPACES_ZERO_GPU=true, read as the `spaces` package reads it).
ZERO_GPU = os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "t", "true")
if ZERO_GPU:
    # first, before the model loads: its torch patches give a "cuda" that exists before any
    # GPU does (the weights move to the GPU inside each spaces.GPU call); there is no worker
    import spaces  # noqa: F401
if os.environ.get("DIFFUSION_DEMO_DEVICE"):
    # a forced device this machine lacks fails here, in one line (torch is imported early
    # only then)
    from diffusion_demo.models.unet import DeviceError, pick_device

    try:
        pick_device()
    except DeviceError as exc:
        raise SystemExit(f"app.py: {exc}") from None
if not ZERO_GPU and os.environ.get("DIFFUSION_DEMO_ENGINE") != "0":  # (the worker serves the engine)
    # The compiled UNet's worker process starts now, while Gradio and the page load (~5 s);
    # the worker module imports neither torch nor diffusers, so this line runs in ~0.2 s.
    worker.prestart(os.environ.get("DIFFUSION_DEMO_CHECKPOINT") or str(MODEL.checkpoint))

from diffusion_demo.serving import torch_thread  # noqa: E402
from diffusion_demo.ui import SERVING, build_demo, launch_kwargs  # noqa: E402

# This thread only builds the page and then waits; torch work runs on the torch thread, and
# an OpenMP pool here would slow every chain (see diffusion_demo/serving/torch_thread.py).
torch_thread.single_threaded()
demo = build_demo()

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=None, help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    args = parser.parse_args()
    demo.launch(**launch_kwargs(args.host, args.port), prevent_thread_lock=True)
    SERVING.set()  # the server answers (see diffusion_demo.ui.SERVING)
    demo.block_thread()
