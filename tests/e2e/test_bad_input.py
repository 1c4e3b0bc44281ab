"""Bad input through the public API, for every named endpoint the app lists.

Each bad call must end in a clean error (a message, no traceback, no server path) and the
server must answer the next, good call. The endpoints, their parameters and their
ranges are read from the running app, so new tabs are covered as they land.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from diffusion_demo.config import IMAGES, REVERSE, SCHEDULE

from . import bad_files
from .helpers import LEAKS, app_config, assert_clean_message

pytestmark = pytest.mark.e2e

# Cheap values for parameters that set the amount of work (the tests call many times).
CHEAP = {"steps": 2, "num_samples": 1, "samples": 1, "n": 1, "num_points": 64}
# Ranges of parameters whose API component declares none (the app checks them itself).
KNOWN_RANGES = {
    "t": (0, SCHEDULE.max_T),
    "T": (1, SCHEDULE.max_T),
    "steps": (1, REVERSE.max_steps),
    "num_samples": (1, REVERSE.max_samples),
    "seed": (0, IMAGES.max_seed),
    "eta": (0.0, 1.0),
    "beta_start": (0.0, SCHEDULE.max_beta),
    "beta_end": (0.0, SCHEDULE.max_beta),
}
# Text parameters that name one of a fixed set of things.
CHOICE_NAMES = {"schedule", "sampler", "example"}
MUST_FAIL = object()  # marker: this bad value must be refused
MAY_PASS = object()  # marker: refusing or accepting it are both fine (never a crash)


@dataclass
class Param:
    name: str
    component: str  # lower-case component type: slider, number, radio, image, ...
    props: dict
    default: object

    @property
    def numeric(self) -> bool:
        return self.component in ("slider", "number")


@dataclass
class Endpoint:
    api_name: str
    params: list[Param]
    base: list = field(default_factory=list)  # a call that must work

    def kwargs(self, **over) -> dict:
        values = {p.name: v for p, v in zip(self.params, self.base, strict=True)}
        values.update(over)
        return values


def describe_endpoints(app, endpoints: dict) -> list[Endpoint]:
    """Join view_api's parameters with the components' ranges and choices from /config."""
    config = app_config(app)
    components = {c["id"]: c for c in config["components"]}
    deps = {d["api_name"]: d for d in config["dependencies"] if d.get("api_name")}
    out = []
    for api_name, info in endpoints.items():
        inputs = [components[i] for i in deps[api_name.lstrip("/")]["inputs"]]
        inputs = [c for c in inputs if c["type"] != "state"]  # session state is not an API input
        assert len(inputs) == len(info["parameters"]), api_name
        params = []
        for spec, comp in zip(info["parameters"], inputs, strict=True):
            default = spec.get("parameter_default") if spec.get("parameter_has_default") else None
            params.append(Param(spec["parameter_name"], comp["type"], comp.get("props", {}), default))
        ep = Endpoint(api_name, params)
        ep.base = [CHEAP.get(p.name, p.default) for p in params]
        out.append(ep)
    return out


def bad_values(p: Param) -> list[tuple[object, object]]:
    """(value, expectation) pairs for one parameter, from its component's declared limits."""
    props = p.props
    vals: list[tuple[object, object]] = []
    if p.numeric:
        lo, hi = props.get("minimum"), props.get("maximum")
        if lo is None and hi is None:
            lo, hi = KNOWN_RANGES.get(p.name, (None, None))
        if lo is not None:
            vals += [(lo - 1, MUST_FAIL), (-(10**9), MUST_FAIL)]
        if hi is not None:
            vals += [(hi + 1, MUST_FAIL), (10**9, MUST_FAIL), (10**6, MUST_FAIL if hi < 10**6 else MAY_PASS)]
        vals += [("abc", MUST_FAIL), ([1, 2], MUST_FAIL), ({"x": 1}, MUST_FAIL), (None, MAY_PASS)]
        vals += [(10**30, MAY_PASS if hi is None else MUST_FAIL), (0.5, MAY_PASS)]
    elif p.component in ("radio", "dropdown") or p.name in CHOICE_NAMES:
        vals += [("no-such-choice", MUST_FAIL), (12345, MUST_FAIL), (None, MAY_PASS), (["a"], MUST_FAIL)]
    elif p.component in ("image", "file"):
        vals += [("not a file", MUST_FAIL), ({"path": "/etc/passwd"}, MUST_FAIL), (None, MAY_PASS)]
        vals += [({"url": "http://203.0.113.1/x.png"}, MUST_FAIL)]
    elif p.component == "checkbox":
        vals += [("maybe", MAY_PASS), (None, MAY_PASS), ([1], MAY_PASS)]
    else:
        vals += [(None, MAY_PASS), ("x" * 100_000, MAY_PASS), (12345, MAY_PASS)]
    return vals


def call(client, ep: Endpoint, **over):
    """(ok, result or error message) of one API call through gradio_client."""
    try:
        return True, client.predict(**ep.kwargs(**over), api_name=ep.api_name)
    except Exception as exc:  # noqa: BLE001 (any failure is inspected below)
        return False, f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def described(app, endpoints) -> list[Endpoint]:
    eps = describe_endpoints(app, endpoints)
    assert eps, "the app lists no API endpoints"
    return eps


@pytest.fixture(scope="module")
def base_results(client, described) -> dict[str, bool]:
    """Which endpoints work with their default (cheap) inputs before any abuse."""
    results = {}
    for ep in described:
        ok, out = call(client, ep)
        if not ok:
            assert_clean_message(out)
        results[ep.api_name] = ok
    # At least the main endpoints must work out of the box.
    for name in ("/reverse", "/forward"):
        if name in results:
            assert results[name], f"{name} fails with its default inputs"
    return results


def test_out_of_range_and_wrong_types_give_clean_errors(app, client, described, base_results):
    problems = []
    for ep in described:
        for p in ep.params:
            for value, expect in bad_values(p):
                ok, out = call(client, ep, **{p.name: value})
                shown = f"{ep.api_name}({p.name}={str(value)[:40]!r})"
                if ok and expect is MUST_FAIL:
                    problems.append(f"{shown} was accepted")
                if not ok:
                    if "Connection" in out or "Timeout" in out:
                        problems.append(f"{shown} broke the connection: {out}")
                    leak = LEAKS.search(out)
                    if leak:
                        problems.append(f"{shown} leaked {leak.group(0)!r}: {out[:300]}")
            if not app.answers():
                pytest.fail(f"the server stopped answering after {ep.api_name}({p.name}=...)")
        ok, out = call(client, ep)
        if ok != base_results[ep.api_name]:
            problems.append(f"{ep.api_name}: the good call now gives {out!r}")
    assert not problems, "\n".join(problems)


def test_out_of_range_values_name_the_limit(client, described):
    """For the issue's own examples the message says what is allowed."""
    examples = {"t": [-1, 10**9], "steps": [0, 10**9], "num_samples": [0, 10**6]}
    seen = 0
    for ep in described:
        for p in ep.params:
            for value in examples.get(p.name, []):
                ok, out = call(client, ep, **{p.name: value})
                assert not ok, f"{ep.api_name}({p.name}={value}) was accepted"
                assert_clean_message(out)
                assert any(w in out for w in ("minimum", "maximum", "must be", "between")), out
                seen += 1
    assert seen, "no endpoint has a t, steps or num_samples parameter"


def raw_call(app, api_name: str, body: str) -> tuple[int, str]:
    """POST /gradio_api/call/<name> with a raw JSON body, then read the result stream."""
    name = api_name.lstrip("/")
    with httpx.Client(base_url=app.url, timeout=60) as http:
        r = http.post(f"gradio_api/call/{name}", content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            return r.status_code, r.text
        event_id = r.json()["event_id"]
        r = http.get(f"gradio_api/call/{name}/{event_id}")
        return r.status_code, r.text


def last_event(stream: str) -> str:
    events = [line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("event:")]
    return events[-1] if events else ""


def test_nan_infinity_missing_and_malformed_arguments(app, client, described, base_results):
    """What gradio_client cannot even send: NaN and ±Infinity, missing or extra arguments,
    arguments that are not a list, a body that is not JSON."""
    problems = []
    for ep in described:
        base = [json.dumps(v) for v in ep.base]
        cases: list[tuple[str, str, bool]] = []  # (label, body, must fail)
        for i, p in enumerate(ep.params):
            if p.numeric:
                for token in ("NaN", "Infinity", "-Infinity"):
                    data = base.copy()
                    data[i] = token
                    cases.append((f"{p.name}={token}", '{"data": [' + ", ".join(data) + "]}", True))
        if ep.params:
            cases.append(("no arguments", '{"data": []}', True))
            cases.append(("one missing", '{"data": [' + ", ".join(base[:-1]) + "]}", True))
        cases.append(("one extra", '{"data": [' + ", ".join([*base, "1"]) + "]}", False))
        cases.append(("data not a list", '{"data": "abc"}', True))
        cases.append(("no data", "{}", True))
        cases.append(("not JSON", "this is not json", True))
        for label, body, must_fail in cases:
            status, text = raw_call(app, ep.api_name, body)
            failed = status != 200 or last_event(text) == "error"
            if must_fail and not failed:
                problems.append(f"{ep.api_name} {label}: accepted ({text[:200]!r})")
            # Only error texts are checked: a success legitimately returns cached file URLs.
            leak = LEAKS.search(text) if failed else None
            if leak:
                problems.append(f"{ep.api_name} {label}: leaked {leak.group(0)!r}: {text[:300]}")
            if status >= 500:
                problems.append(f"{ep.api_name} {label}: server error {status}")
        ok, out = call(client, ep)
        if ok != base_results[ep.api_name]:
            problems.append(f"{ep.api_name}: the good call now gives {out!r}")
    assert app.answers()
    assert not problems, "\n".join(problems)


def image_params(described) -> list[tuple[Endpoint, Param]]:
    return [(ep, p) for ep in described for p in ep.params if p.component in ("image", "file")]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    return bad_files.write(tmp_path_factory.mktemp("e2e-uploads"), bad_files.refused() + bad_files.accepted())


def test_broken_uploads_give_a_clear_message(app, client, described, base_results, uploads):
    from gradio_client import handle_file

    targets = image_params(described)
    if not targets:
        pytest.skip("no endpoint takes an image yet (forward / round-trip tabs not landed)")
    problems = []
    for ep, p in targets:
        for u in bad_files.refused():
            ok, out = call(client, ep, **{p.name: handle_file(str(uploads[u.name]))})
            shown = f"{ep.api_name}({p.name}={u.name})"
            if ok:
                problems.append(f"{shown} was accepted")
                continue
            if LEAKS.search(out):
                problems.append(f"{shown} leaked: {out[:300]}")
            if not any(w in out.lower() for w in u.expect_words):
                problems.append(f"{shown} gave an unclear message: {out[:300]}")
        ok, out = call(client, ep)
        if ok != base_results[ep.api_name]:
            problems.append(f"{ep.api_name}: the good call now gives {out!r}")
    assert app.answers()
    assert not problems, "\n".join(problems)


def test_odd_but_valid_uploads_are_accepted(app, client, described, uploads):
    from gradio_client import handle_file

    targets = image_params(described)
    if not targets:
        pytest.skip("no endpoint takes an image yet (forward / round-trip tabs not landed)")
    problems = []
    for ep, p in targets:
        for u in bad_files.accepted():
            ok, out = call(client, ep, **{p.name: handle_file(str(uploads[u.name]))})
            if not ok:
                problems.append(f"{ep.api_name}({p.name}={u.name}) refused: {out[:300]}")
    assert not problems, "\n".join(problems)


def test_upload_over_the_limit_through_an_endpoint(app, client, described, tmp_path):
    from gradio_client import handle_file

    targets = image_params(described)
    if not targets:
        pytest.skip("no endpoint takes an image yet (forward / round-trip tabs not landed)")
    import gradio.utils

    from diffusion_demo.config import IMAGES

    big = bad_files.oversized(gradio.utils._parse_file_size(IMAGES.max_upload))
    path = tmp_path / big.name
    path.write_bytes(big.data)
    ep, p = targets[0]
    ok, out = call(client, ep, **{p.name: handle_file(str(path))})
    assert not ok
    assert "413" in out or "maximum allowed size" in out, out
    assert app.answers()
    assert math.isfinite(len(out))
