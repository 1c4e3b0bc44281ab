"""The tests reach the app through tests/clients.api_client only (its Client is the cheap one)."""

from __future__ import annotations

import ast
from pathlib import Path

from .clients import api_client

TESTS = Path(__file__).parent


def direct_clients(src: str) -> list[int]:
    """Lines that import gradio_client's Client (every other test goes through api_client)."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(src))
        if isinstance(node, ast.ImportFrom)
        and node.module == "gradio_client"
        and any(a.name == "Client" for a in node.names)
    ]


def test_tests_make_their_clients_with_api_client():
    found = {
        str(path.relative_to(TESTS)): lines
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "clients.py" and (lines := direct_clients(path.read_text(encoding="utf-8")))
    }
    assert not found, f"use tests.clients.api_client instead: {found}"


def test_the_checker_sees_a_direct_client():
    assert direct_clients("from gradio_client import Client, handle_file\n") == [1]
    assert direct_clients("from gradio_client import handle_file\n") == []


def test_api_client_turns_tls_verification_off(monkeypatch):
    import inspect

    import gradio_client

    # Client's own default verifies: the saving is this one keyword
    assert inspect.signature(gradio_client.Client).parameters["ssl_verify"].default is True
    made = []
    monkeypatch.setattr(gradio_client, "Client", lambda url, **kw: made.append((url, kw)))
    api_client("http://127.0.0.1:1/", download_files=False)
    assert made == [("http://127.0.0.1:1/", {"verbose": False, "ssl_verify": False, "download_files": False})]
