"""Bad input through the public API, for every named endpoint the app lists.

Each bad call must end in a clean error (a message, no traceback, no server path) and the
server must answer the next, good call. The endpoints, their parameters and their
ranges are read from the running app, so new tabs are covered as they land.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

from diffusion_demo.config import IMAGES, REVERSE, SCHEDULE
from diffusion_demo.ui.runtime import ADDED_LATER

from ..clients import http_client
from . import bad_files
from .helpers import LEAKS, app_config, assert_clean_message

pytestmark = pytest.mark.e2e

# Cheap values for parameters that set the amount of work (the tests call many times).
CHEAP = {"steps": 2, "num_samples": 1, "samples": 1, "n_paths": 1, "format": "png"}
# Endpoints whose good call is seconds of work however it is called (training, animations):
# they get only the bad values that must be refused (refused before any work is done).
HEAVY = {"/toy2d_train", "/toy2d_animation", "/export_toy2d"}
# An endpoint whose good call takes longer than this is treated as HEAVY too.
HEAVY_S = 3.0
# Bad calls in flight at once (the per-address cap of heavy runs is far above it).
IN_FLIGHT = 8
# No single call may take longer than this (a hang fails the test instead of stalling it).
CALL_TIMEOUT_S = 120.0
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
CHOICE_NAMES = {"schedule", "sampler", "example", "dataset", "format"}
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
    heavy: bool = False
    base_ok: bool | None = None  # did the base call work before the abuse (None: not tried)

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
        ep = Endpoint(api_name, params, heavy=api_name in HEAVY)
        # Heavy endpoints are never called with their base values, so nothing would tell a
        # refused CHEAP value from a refused bad one: they keep their defaults.
        ep.base = [p.default if ep.heavy else CHEAP.get(p.name, p.default) for p in params]
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
            vals += [(hi + 1, MUST_FAIL)]
            vals += [(v, MUST_FAIL if v > hi else MAY_PASS) for v in (10**6, 10**9)]
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


GRADIO_GENERIC = "has not enabled verbose error reporting"


def refused_for_this_value(p: Param, value: object, message: str) -> bool:
    """Was the call refused because of `value` (not some other argument)? The message names
    the parameter. Gradio's generic "has not enabled verbose error reporting" is never enough,
    nor are its component checks ("Value -3 is less than minimum value 1."): they name no
    parameter (the app makes those checks first, with the parameter's name)."""
    if GRADIO_GENERIC in message:
        return False
    return re.search(rf"\b{re.escape(p.name)}\b", message) is not None


def short_list(values: list[tuple[object, object]]) -> list[tuple[object, object]]:
    """The bad values for a parameter already probed on another endpoint: one of each kind
    that must fail (too small, too large, wrong type), enough to show this endpoint checks too."""
    out, kinds = [], set()
    for value, expect in values:
        kind = type(value).__name__ if not isinstance(value, (int, float)) else "number"
        if expect is MUST_FAIL and kind not in kinds:
            kinds.add(kind)
            out.append((value, expect))
    numbers = [v for v in values if isinstance(v[0], (int, float)) and v[1] is MUST_FAIL]
    return out + numbers[-1:] if numbers else out


def call(client, ep: Endpoint, **over):
    """(ok, result or error message) of one API call through gradio_client."""
    return outcome(client.submit(**ep.kwargs(**over), api_name=ep.api_name))


def call_many(client, ep: Endpoint, overs: list[dict]) -> list[tuple[bool, object]]:
    """call() for each of `overs`, IN_FLIGHT at a time (one at a time, the round trips alone
    took a minute of the suite). For calls that are refused or quick: a chain that runs is
    replaced by the next one of the same session, as a browser's Generate is."""
    results: list[tuple[bool, object]] = []
    for i in range(0, len(overs), IN_FLIGHT):
        jobs = [client.submit(**ep.kwargs(**o), api_name=ep.api_name) for o in overs[i : i + IN_FLIGHT]]
        results += [outcome(job) for job in jobs]
    # gradio_client now and then ends one of several concurrent jobs of a client with a bare
    # CancelledError on its own side (its cancel-watcher thread races the stream reader): such
    # a call is asked again, alone.
    return [
        call(client, ep, **o) if not ok and out.startswith("CancelledError") else (ok, out)
        for o, (ok, out) in zip(overs, results, strict=True)
    ]


def outcome(job) -> tuple[bool, object]:
    try:
        return True, job.result(timeout=CALL_TIMEOUT_S)
    except TimeoutError:
        job.cancel()
        return False, f"Timeout: no answer within {CALL_TIMEOUT_S:.0f} s"
    except Exception as exc:  # noqa: BLE001 (any failure is inspected below)
        return False, f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def described(app, client, endpoints) -> list[Endpoint]:
    """Every endpoint, with whether its good call works before any abuse (not for HEAVY ones)."""
    eps = describe_endpoints(app, endpoints)
    assert eps, "the app lists no API endpoints"
    for ep in eps:
        if ep.heavy:
            continue
        start = time.perf_counter()
        ok, out = call(client, ep)
        if not ok and ep.base != [p.default for p in ep.params]:
            ep.base = [p.default for p in ep.params]  # a CHEAP value this endpoint refuses
            start = time.perf_counter()
            ok, out = call(client, ep)
        if not ok:
            assert_clean_message(out)
        ep.base_ok = ok
        ep.heavy = time.perf_counter() - start > HEAVY_S
    # The main endpoints must work out of the box.
    for ep in eps:
        if ep.api_name in ("/reverse", "/forward"):
            assert ep.base_ok, f"{ep.api_name} fails with its default inputs"
    return eps


def recheck(app, client, ep: Endpoint, problems: list[str]) -> None:
    """After the abuse: the server answers and the endpoint's good call still works."""
    if not app.answers():
        pytest.fail(f"the server stopped answering after the bad calls to {ep.api_name}")
    if ep.base_ok is None or ep.heavy:
        return
    ok, out = call(client, ep)
    if ep.base_ok and not ok:  # (a failing base call may work later: state from other calls)
        problems.append(f"{ep.api_name}: the good call now gives {str(out)[:300]!r}")


# The issue's own examples: a refused number for these must also say what is allowed.
SAYS_THE_LIMIT = {"t", "steps", "num_samples"}
LIMIT_WORDS = ("minimum", "maximum", "must be", "between")


def test_out_of_range_and_wrong_types_give_clean_errors(app, client, described):
    problems = []
    probed: set[tuple] = set()  # (name, component, limits) already given every bad value
    limits_said = 0
    for ep in described:
        cases = []  # (parameter, bad value, expectation)
        for p in ep.params:
            key = (p.name, p.component, p.props.get("minimum"), p.props.get("maximum"))
            values = bad_values(p) if key not in probed else short_list(bad_values(p))
            probed.add(key)
            cases += [(p, v, e) for v, e in values if e is MUST_FAIL or not ep.heavy]
        outcomes = call_many(client, ep, [{p.name: value} for p, value, _ in cases])
        for (p, value, expect), (ok, out) in zip(cases, outcomes, strict=True):
            shown = f"{ep.api_name}({p.name}={str(value)[:40]!r})"
            if ok and expect is MUST_FAIL:
                problems.append(f"{shown} was accepted")
            if not ok and expect is MUST_FAIL and not refused_for_this_value(p, value, out):
                problems.append(f"{shown} was refused for another reason: {out[:200]}")
            if (
                not ok
                and p.name in SAYS_THE_LIMIT
                and isinstance(value, (int, float))
                and expect is MUST_FAIL
            ):
                limits_said += 1
                if not any(w in out for w in LIMIT_WORDS):
                    problems.append(f"{shown} does not say what is allowed: {out[:200]}")
            if not ok:
                if out.startswith("Timeout") or "Connection" in out:
                    problems.append(f"{shown} broke the connection: {out}")
                leak = LEAKS.search(out)
                if leak:
                    problems.append(f"{shown} leaked {leak.group(0)!r}: {out[:300]}")
        recheck(app, client, ep, problems)
    assert limits_said, "no endpoint has a t, steps or num_samples parameter"
    assert not problems, "\n".join(problems)


def raw_call(app, api_name: str, body: str) -> tuple[int, str]:
    """POST /gradio_api/call/<name> with a raw JSON body, then read the result stream."""
    name = api_name.lstrip("/")
    with http_client(app.url, timeout=60) as http:
        r = http.post(f"gradio_api/call/{name}", content=body, headers={"content-type": "application/json"})
        if r.status_code != 200:
            return r.status_code, r.text
        event_id = r.json()["event_id"]
        r = http.get(f"gradio_api/call/{name}/{event_id}")
        return r.status_code, r.text


def error_message(stream: str) -> str | None:
    """The text of the stream's error event (None when Gradio sent `null`: no message)."""
    lines = stream.splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.startswith("event:") and line.split(":", 1)[1].strip() == "error":
            data = lines[i + 1].split(":", 1)[1].strip() if lines[i + 1].startswith("data:") else "null"
            return json.loads(data) if data else None
    return None


def last_event(stream: str) -> str:
    events = [line.split(":", 1)[1].strip() for line in stream.splitlines() if line.startswith("event:")]
    return events[-1] if events else ""


def test_nan_infinity_missing_and_malformed_arguments(app, client, described):
    """What gradio_client cannot even send: NaN and ±Infinity, missing or extra arguments,
    arguments that are not a list, a body that is not JSON."""
    problems = []
    probed: set[str] = set()
    for n, ep in enumerate(described):
        base = [json.dumps(v) for v in ep.base]
        cases: list[tuple[str, str, bool]] = []  # (label, body, must fail)
        for i, p in enumerate(ep.params):
            if p.numeric:
                tokens = ("NaN", "Infinity", "-Infinity") if p.name not in probed else ("NaN",)
                probed.add(p.name)
                for token in tokens:
                    data = base.copy()
                    data[i] = token
                    cases.append((f"{p.name}={token}", '{"data": [' + ", ".join(data) + "]}", True))
        if ep.params:
            cases.append(("no arguments", '{"data": []}', True))
            # parameters added to an endpoint later may be left out (old scripts): their defaults
            optional = ADDED_LATER.get(ep.api_name.lstrip("/"), 0)
            cases.append(("one missing", '{"data": [' + ", ".join(base[:-1]) + "]}", not optional))
            if optional and len(base) > optional:
                short = ", ".join(base[: -optional - 1])
                cases.append((f"{optional + 1} missing", '{"data": [' + short + "]}", True))
        if not ep.heavy:
            cases.append(("one extra", '{"data": [' + ", ".join([*base, "1"]) + "]}", False))
        if n == 0:  # malformed bodies never reach an endpoint's code: once is enough
            cases.append(("data not a list", '{"data": "abc"}', True))
            cases.append(("no data", "{}", True))
            cases.append(("not JSON", "this is not json", True))
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            answers = list(pool.map(partial(raw_call, app, ep.api_name), [body for _, body, _ in cases]))
        for (label, _, must_fail), (status, text) in zip(cases, answers, strict=True):
            failed = status != 200 or last_event(text) == "error"
            if must_fail and not failed:
                problems.append(f"{ep.api_name} {label}: accepted ({text[:200]!r})")
            if failed and status == 200 and error_message(text) is None:
                problems.append(f"{ep.api_name} {label}: refused without a message ({text[:200]!r})")
            # Only error texts are checked: a success legitimately returns cached file URLs.
            leak = LEAKS.search(text) if failed else None
            if leak:
                problems.append(f"{ep.api_name} {label}: leaked {leak.group(0)!r}: {text[:300]}")
            if status >= 500:
                problems.append(f"{ep.api_name} {label}: server error {status}")
        recheck(app, client, ep, problems)
    assert not problems, "\n".join(problems)


def image_params(described) -> list[tuple[Endpoint, Param]]:
    return [(ep, p) for ep in described for p in ep.params if p.component in ("image", "file")]


@pytest.fixture(scope="module")
def uploads(tmp_path_factory) -> dict[str, Path]:
    return bad_files.write(tmp_path_factory.mktemp("e2e-uploads"), bad_files.refused() + bad_files.accepted())


def test_broken_uploads_give_a_clear_message(app, client, described, uploads):
    from gradio_client import handle_file

    targets = image_params(described)
    if not targets:
        pytest.skip("no endpoint takes an image yet (forward / round-trip tabs not landed)")
    problems = []
    for ep, p in targets:
        refused = bad_files.refused()
        outcomes = call_many(client, ep, [{p.name: handle_file(str(uploads[u.name]))} for u in refused])
        for u, (ok, out) in zip(refused, outcomes, strict=True):
            shown = f"{ep.api_name}({p.name}={u.name})"
            if ok:
                problems.append(f"{shown} was accepted")
                continue
            if LEAKS.search(out):
                problems.append(f"{shown} leaked: {out[:300]}")
            if not any(w in out.lower() for w in u.expect_words):
                problems.append(f"{shown} gave an unclear message: {out[:300]}")
        recheck(app, client, ep, problems)
    assert not problems, "\n".join(problems)


def test_odd_but_valid_uploads_are_accepted(app, client, described, uploads):
    from gradio_client import handle_file

    targets = image_params(described)
    if not targets:
        pytest.skip("no endpoint takes an image yet (forward / round-trip tabs not landed)")
    problems = []
    every = bad_files.accepted()
    # All of them through the first endpoint; the hardest few through the others.
    few = [u for u in every if u.name in ("wide.png", "one-pixel.png", "gray16.png", "animated.gif")]
    for n, (ep, p) in enumerate(t for t in targets if not t[0].heavy):
        for u in every if n == 0 else few:
            ok, out = call(client, ep, **{p.name: handle_file(str(uploads[u.name]))})
            # a mask must be square like the digit (28×28 or larger): refusing others, with the
            # reason, is the right answer for it
            shaped = p.name == "mask_image" and (
                "expected a square image" in out or "expected at least" in out
            )
            if not ok and not shaped:
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
    # gradio_client refuses it before sending (it reads max_file_size from the config);
    # the server's own 413 is checked with a raw upload in test_limits.py.
    assert "413" in out or "maximum allowed size" in out or "exceeds the maximum file size" in out, out
    assert app.answers()


# The edges of the allowed ranges must work (the off-by-one side of "out of range").
# Upper ends only where they do not multiply the work (steps=1000 would take seconds).
EDGES = {
    "steps": [1],
    "num_samples": [1],
    "n_paths": [1],
    "t": [0, 1000],
    "seed": [0, IMAGES.max_seed],
    "eta": [0.0, 1.0],
    "index": [0],
}


def test_edges_of_the_ranges_are_accepted(client, described):
    problems, tried = [], 0
    for ep in described:
        if ep.heavy or not ep.base_ok:
            continue
        for p in ep.params:
            for value in EDGES.get(p.name, []):
                ok, out = call(client, ep, **{p.name: value})
                tried += 1
                if not ok:
                    problems.append(f"{ep.api_name}({p.name}={value}) refused: {str(out)[:300]}")
    assert tried, "no endpoint has a parameter with known edges"
    assert not problems, "\n".join(problems)
