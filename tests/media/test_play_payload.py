"""▶ Play's download (media.forward_views.play_payload): decoded the way the browser does
(ui/keys.js), it gives the server's x_t at every t within one grey level."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from diffusion_demo.media import forward_views


def decode(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))), dtype=np.float64)


def browser_x_t(payload: dict, t: int) -> np.ndarray:
    """keys.js `fill`: x_t = a[t] x_0 + b[t] ε, clipped, to bytes (float64, round half up)."""
    x0 = decode(payload["x0"]) / 127.5 - 1
    eps = ((decode(payload["eps_hi"]) * 256 + decode(payload["eps_lo"])) / 32767.5 - 1) * payload["eps_range"]
    v = payload["a"][t] * x0 + payload["b"][t] * eps
    return np.floor((np.clip(v, -1, 1) + 1) * 127.5 + 0.5)


@pytest.mark.parametrize(
    "example, schedule, T", [("photo-landscape", "linear", 1000), ("digit-3", "cosine", 250)]
)
def test_the_browser_draws_the_servers_x_t(example, schedule, T):
    req = forward_views.validate(None, 0, schedule, 7, example, 1e-4, 0.02, T)
    payload = forward_views.play_payload(req)
    json.dumps(payload)  # it travels as JSON
    assert payload["T"] == T and len(payload["a"]) == len(payload["b"]) == T + 1
    assert payload["a"][0] == 1.0 and payload["b"][0] == 0.0
    c, h, w = req.source.x0.shape
    assert (payload["channels"], payload["height"], payload["width"]) == (c, h, w)
    for t in (0, 1, T // 3, T // 2, T):
        server = np.asarray(
            forward_views.xt_view(forward_views.validate(None, t, schedule, 7, example, 1e-4, 0.02, T))[0],
            dtype=np.float64,
        )
        drawn = browser_x_t(payload, t)
        assert drawn.shape == server.shape
        assert np.abs(drawn - server).max() <= 1, t


def test_the_payload_is_cached_and_follows_the_seed():
    a = forward_views.validate(None, 0, "linear", 1, "digit-5", 1e-4, 0.02, 1000)
    b = forward_views.validate(None, 900, "linear", 1, "digit-5", 1e-4, 0.02, 1000)
    c = forward_views.validate(None, 0, "linear", 2, "digit-5", 1e-4, 0.02, 1000)
    assert forward_views.play_payload(a) is forward_views.play_payload(b)  # t does not matter
    assert forward_views.play_payload(c)["eps_lo"] != forward_views.play_payload(a)["eps_lo"]
