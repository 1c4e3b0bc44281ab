"""Exposure and limits: what the server refuses to serve or accept, and its launch settings."""

from __future__ import annotations

import pickle

import httpx
import pytest

from diffusion_demo.config import IMAGES

from ..clients import http_client
from . import bad_files
from .helpers import ROOT, assert_clean_message, http_get, write_checkpoint

pytestmark = pytest.mark.e2e


def upload(app, name: str, data: bytes) -> httpx.Response:
    with http_client(app.url, timeout=60) as http:
        return http.post("gradio_api/upload", files={"files": (name, data, "image/png")})


def forbidden_paths(app) -> list[str]:
    ckpt = app.env["DIFFUSION_DEMO_CHECKPOINT"]
    cache = app.temp_dir
    return [
        "file=/etc/passwd",
        "gradio_api/file=/etc/passwd",
        "gradio_api/file=%2Fetc%2Fpasswd",
        "gradio_api/file=../../../../../../etc/passwd",
        "gradio_api/file=/proc/self/environ",
        "file=app.py",
        "gradio_api/file=app.py",
        f"gradio_api/file={ROOT}/app.py",
        "gradio_api/file=diffusion_demo/config.py",
        "gradio_api/file=.git/config",
        "gradio_api/file=requirements.txt",
        f"gradio_api/file={ckpt}/unet/config.json",
        f"gradio_api/file={cache}/../app.log",
        f"gradio_api/file={cache}/%2e%2e/app.log",
        "static/../app.py",
        "assets/../../app.py",
    ]


def test_files_outside_the_cache_are_refused(app, client):
    secrets = [b"root:x:0:0", (ROOT / "app.py").read_bytes()[:60], b"[core]", b"PATH="]
    for path in forbidden_paths(app):
        status, body = http_get(app.url + path)
        assert status in (403, 404), f"{path} answered {status}"
        assert not any(s in body for s in secrets), f"{path} leaked a file"


def test_cached_files_are_served(app):
    """Positive control for the test above: the route serves what is in Gradio's cache."""
    small = bad_files.accepted()[0]
    r = upload(app, small.name, small.data)
    assert r.status_code == 200, r.text
    (server_path,) = r.json()
    assert str(app.temp_dir) in server_path
    status, body = http_get(app.url + f"gradio_api/file={server_path}")
    assert status == 200 and body == small.data


def test_monitoring_is_off(app):
    assert http_get(app.url + "monitoring")[0] in (403, 404)
    assert http_get(app.url + "gradio_api/monitoring")[0] in (403, 404)


def test_upload_over_the_size_limit_is_refused_and_the_server_goes_on(app, client):
    import gradio.utils

    limit = gradio.utils._parse_file_size(IMAGES.max_upload)
    big = bad_files.oversized(limit)
    r = upload(app, big.name, big.data)
    assert r.status_code == 413
    assert "maximum allowed size" in r.text
    assert_clean_message(r.text)
    small = bad_files.accepted()[0]
    r = upload(app, small.name, small.data)
    assert r.status_code == 200, r.text
    assert app.answers()


def test_config_states_the_upload_limit(app):
    import json

    import gradio.utils

    config = json.loads(http_get(app.url + "config")[1])
    assert config["max_file_size"] == gradio.utils._parse_file_size(IMAGES.max_upload)
    assert config["show_error"] is False
    assert config["analytics_enabled"] is False


def test_launch_settings(monkeypatch):
    from diffusion_demo.ui import launch_kwargs

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    kw = launch_kwargs()
    assert kw["server_name"] == "127.0.0.1"  # loopback unless asked: never 0.0.0.0 by default
    assert kw["max_file_size"] == IMAGES.max_upload
    assert kw["enable_monitoring"] is False
    assert kw["show_error"] is False  # unexpected errors: no traceback text to users
    assert not kw.get("share")
    assert not kw.get("allowed_paths")


def test_blocks_settings():
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=None, checkpoint_error="test: no model")
    freq, age = demo.delete_cache
    assert 0 < freq <= 3600 and 0 < age <= 24 * 3600  # the cache of frames is cleaned
    assert demo._queue.max_size and demo._queue.max_size <= 256  # a full queue answers "busy"


# Endpoints that run seconds of torch work: the UNet's chains, 2D training, animations, exports.
# The UNet's chains share the network through the batching engine (side by side, up to
# QUEUE.chains_limit); everything else that runs seconds of torch queues for one worker.
CHAIN_APIS = {
    "reverse",
    "compare",
    "compare_guidance",
    "roundtrip",
    "roundtrip_sketch",
    "roundtrip_curve",
    "inpaint",
    "export_roundtrip",
}
HEAVY_APIS = {
    "toy2d_train",
    "toy2d_animation",
    "export_forward",
    "export_schedule",
    "export_reverse",
    "export_toy2d",
    "export_inpaint",
}


def test_heavy_work_shares_one_worker_and_the_chains_share_the_network():
    """torch uses both cores already: two heavy jobs at once (say a 2D training and an export)
    would only slow each other, so every heavy event, public or UI-only, queues for one
    worker; the UNet's chains instead run side by side and share each network call."""
    from diffusion_demo.config import QUEUE
    from diffusion_demo.ui import build_demo

    demo = build_demo(denoiser=None, checkpoint_error="test: no model")
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name}
    assert HEAVY_APIS | CHAIN_APIS <= set(fns), sorted(HEAVY_APIS | CHAIN_APIS - set(fns))
    ui_only = {"toy2d_train_ui", "toy2d_animation_ui"}
    heavy = [fn for name, fn in fns.items() if name in HEAVY_APIS | ui_only]
    # (the forward tab's prepare runs one at a time too, but in a group of its own)
    heavy += [
        fn for fn in demo.fns.values() if fn.concurrency_limit == 1 and fn.api_name != "forward_prepare"
    ]
    assert {fn.concurrency_id for fn in heavy} == {"heavy"}
    assert all(fn.concurrency_limit == 1 for fn in heavy)
    chains = [fn for name, fn in fns.items() if name in CHAIN_APIS]
    assert {fn.concurrency_id for fn in chains} == {QUEUE.chains_id}
    assert all(fn.concurrency_limit == QUEUE.chains_limit for fn in chains)
    # and the cheap ones (a slider drag) are not stuck behind them
    assert fns["forward"].concurrency_id not in ("heavy", QUEUE.chains_id)
    assert fns["forward_prepare"].concurrency_id not in ("heavy", QUEUE.chains_id)


class _Trap:
    """Unpickling this writes a marker file: proof that a loader ran pickle."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_weights_load_from_safetensors_only(tmp_path):
    """A pickled .bin next to (or instead of) the safetensors file is never unpickled."""
    from diffusion_demo.models import unet

    ckpt = write_checkpoint(tmp_path / "ckpt", tiny=True)
    weights = ckpt / "unet" / "diffusion_pytorch_model.safetensors"
    marker = tmp_path / "unpickled"
    bin_file = ckpt / "unet" / "diffusion_pytorch_model.bin"
    bin_file.write_bytes(pickle.dumps(_Trap(str(marker))))
    unet.load(ckpt, autocast="fp32")  # safetensors present: loads, ignores the .bin
    assert not marker.exists()
    weights.unlink()
    with pytest.raises(unet.CheckpointError, match="missing"):
        unet.load(ckpt, autocast="fp32")
    assert not marker.exists()
