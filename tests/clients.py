"""The tests' clients of the app (gradio_client's and raw HTTP): one constructor each, so every
test talks to the app the same cheap way."""

from __future__ import annotations

from typing import Any

# gradio_client opens a new httpx connection for every call and, with TLS verification on,
# loads the CA bundle each time: ~50 ms of CPU a call, ten times what the app spends
# answering it. The tests talk to http://127.0.0.1 only, where there is nothing to verify.
NO_TLS = {"ssl_verify": False}


def api_client(url: str, **kwargs: Any):
    """A quiet gradio_client.Client for the app at `url` (kwargs as Client's)."""
    from gradio_client import Client

    return Client(url, **{"verbose": False, **NO_TLS, **kwargs})


def http_client(base_url: str = "", timeout: float = 60):
    """An httpx.Client for raw requests to the app (the same reason: no CA bundle to load)."""
    import httpx

    return httpx.Client(base_url=base_url, timeout=timeout, verify=False)
