"""The batching engine: shared network calls change nothing a chain computes; admission, fairness, caps."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch

from diffusion_demo.config import ENGINE
from diffusion_demo.diffusion.sampling import (
    ReverseRequest,
    guidance_at,
    make_scheduler,
    reverse_chain,
    sample,
)
from diffusion_demo.serving.engine import Engine, Replaced

from ..tolerances import assert_same_within_rounding, float64


def assert_as_alone(together: torch.Tensor, den, request: ReverseRequest) -> None:
    """A chain run in shared calls equals the same chain alone, within float32 rounding
    (tests/tolerances.py): the batch only stacks rows, but its matrix products may take other
    kernels (other sums' orders) than a solo call's, differently on every CPU."""
    oracle = sample(float64(den), request)
    assert_same_within_rounding(together, sample(den, request), oracle, ops=request.steps)


REQUESTS = [
    ReverseRequest(sampler="ddpm", steps=6, num_samples=3, seed=1, digit="any", guidance=0.0),
    ReverseRequest(sampler="ddim", steps=6, num_samples=2, seed=2, digit="7", guidance=1.0, eta=0.5),
    ReverseRequest(sampler="dpmsolver", steps=6, num_samples=3, seed=3, digit="each", guidance=2.0),
    ReverseRequest(sampler="ddim", steps=4, num_samples=1, seed=4, digit="any", guidance=3.0),
]


def _run_together(engine: Engine, requests: list[ReverseRequest]) -> list[torch.Tensor]:
    out: list = [None] * len(requests)
    errors: list = []

    def go(i: int) -> None:
        try:
            with engine.open(owner=i, address=f"10.0.0.{i}") as chain:
                out[i] = sample(chain, requests[i])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(requests))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    return out


def test_batched_chains_equal_solo_chains_for_every_sampler(tiny_cond_denoiser):
    """Four users' chains (three samplers, guided and not, different step counts) in shared
    calls give exactly what each gives alone: the batch only stacks rows, each with its t and y."""
    engine = Engine(tiny_cond_denoiser, dataclasses.replace(ENGINE, gather_s=0.5))
    together = _run_together(engine, REQUESTS)
    for request, b in zip(REQUESTS, together, strict=True):
        assert_as_alone(b, tiny_cond_denoiser, request)
    # they really shared calls: 6 steps of the longest chain, not 6 + 6 + 6 + 4
    assert engine.ticks < sum(r.steps for r in REQUESTS)
    # a guided step (w ∉ {0, 1}, inside the guidance interval) asks for two rows per sample
    assert engine.rows == sum(
        r.num_samples * (2 if guidance_at(r, int(t)) not in (0, 1) else 1)
        for r in REQUESTS
        for t in make_scheduler(tiny_cond_denoiser.scheduler_config, r.sampler, r.steps).timesteps
    )


def test_an_unconditional_model_batches_too(tiny_denoiser):
    requests = [ReverseRequest(sampler="ddpm", steps=5, num_samples=2, seed=s) for s in (0, 1)]
    together = _run_together(Engine(tiny_denoiser, dataclasses.replace(ENGINE, gather_s=0.5)), requests)
    for request, b in zip(requests, together, strict=True):
        assert_as_alone(b, tiny_denoiser, request)


def test_a_chain_joins_and_another_leaves_mid_run(tiny_cond_denoiser):
    """B joins while A runs; C leaves after two steps (its generator closed, as Stop does):
    A's and B's images are unchanged, and C's slot is free at once."""
    engine = Engine(tiny_cond_denoiser, dataclasses.replace(ENGINE, gather_s=0.2))
    a_req = ReverseRequest(sampler="ddim", steps=12, num_samples=2, seed=5, digit="3")
    b_req = ReverseRequest(sampler="ddpm", steps=5, num_samples=2, seed=6, digit="any", guidance=2.0)
    c_req = ReverseRequest(sampler="ddim", steps=12, num_samples=2, seed=7)
    a_step, results = threading.Event(), {}

    def run_a() -> None:
        with engine.open("a", "x") as chain:
            x = None
            for record in reverse_chain(chain, a_req):
                if record.index == 3:
                    a_step.set()
                x = record.prev_sample
            results["a"] = x.clamp(-1, 1)

    def run_b() -> None:
        a_step.wait(30)
        with engine.open("b", "y") as chain:
            results["b"] = sample(chain, b_req)

    th_a, th_b = threading.Thread(target=run_a), threading.Thread(target=run_b)
    th_a.start(), th_b.start()
    with engine.open("c", "z") as chain:
        steps = reverse_chain(chain, c_req)
        next(steps), next(steps)
        steps.close()  # Stop: the chain ends within its current step
    assert chain.state == "closed" and engine.status()["running"] <= 2
    th_a.join(60), th_b.join(60)
    assert_as_alone(results["a"], tiny_cond_denoiser, a_req)
    assert_as_alone(results["b"], tiny_cond_denoiser, b_req)
    assert engine.status() == {"running": 0, "waiting": 0, "rows": 0, "ticks": engine.ticks}


def test_stop_frees_the_slot_for_a_waiting_chain_within_one_step(tiny_cond_denoiser):
    engine = Engine(tiny_cond_denoiser, dataclasses.replace(ENGINE, max_rows=4))
    first = engine.open("u1", "a", rows=4)
    second = engine.open("u2", "b", rows=4)
    assert (first.state, second.state, second.ahead()) == ("running", "waiting", 0)
    steps = reverse_chain(first, ReverseRequest(steps=10, num_samples=4))
    next(steps)
    assert not second.wait_admitted(0.05)
    steps.close()
    first.close()
    assert second.wait_admitted(0.0) and second.state == "running"


def test_admission_is_round_robin_over_addresses_when_full(tiny_denoiser):
    """Three waiting runs from one address and one from another: the other address does not
    wait behind all three (first come, first served would admit a1, a2, a3, b1)."""
    engine = Engine(tiny_denoiser, dataclasses.replace(ENGINE, max_rows=2))
    running = engine.open("c", "10.0.0.3", rows=2)
    a1, a2, a3 = (engine.open(f"a{i}", "10.0.0.1", rows=2) for i in range(3))
    b1 = engine.open("b1", "10.0.0.2", rows=2)
    assert [c.ahead() for c in (a1, b1, a2, a3)] == [0, 1, 2, 3]
    order = []
    current = running
    for _ in range(4):
        current.close()
        current = next(c for c in (a1, a2, a3, b1) if c.state == "running")
        order.append(current)
    assert order == [a1, b1, a2, a3]


def test_one_address_has_at_most_its_cap_of_runs(tiny_denoiser):
    engine = Engine(tiny_denoiser, dataclasses.replace(ENGINE, max_per_address=2))
    engine.open("s1", "10.1.1.1"), engine.open("s2", "10.1.1.1")
    with pytest.raises(ValueError, match="Too many runs from one address at once .*limit is 2"):
        engine.open("s3", "10.1.1.1")
    engine.open("s4", "10.1.1.2")  # another address is not affected
    engine.open("s1", "10.1.1.1")  # the same session replacing its own run is not a new one


def test_a_new_run_from_the_same_session_replaces_the_old_one(tiny_denoiser):
    engine = Engine(tiny_denoiser)
    old = engine.open("tab", "a")
    steps = reverse_chain(old, ReverseRequest(steps=5, num_samples=1))
    next(steps)
    new = engine.open("tab", "a")
    with pytest.raises(Replaced, match="replaced by a newer one"):
        next(steps)
    assert old.state == "closed" and new.state != "closed"
    assert isinstance(Replaced("x"), ValueError)  # the UI shows its message as it is


def test_a_chain_that_goes_wrong_is_removed_and_the_others_continue(tiny_cond_denoiser):
    engine = Engine(tiny_cond_denoiser, dataclasses.replace(ENGINE, gather_s=0.2))
    good_req = ReverseRequest(sampler="ddim", steps=6, num_samples=2, seed=9)
    results, errors = {}, []

    def good() -> None:
        with engine.open("good", "a") as chain:
            results["good"] = sample(chain, good_req)

    def bad() -> None:
        with engine.open("bad", "b") as chain:
            try:
                chain.eps(torch.full((2, 1, 28, 28), float("nan")), 500)
            except ValueError as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=good), threading.Thread(target=bad)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors and "NaN" in errors[0]
    assert_as_alone(results["good"], tiny_cond_denoiser, good_req)


def test_a_failing_batch_is_retried_chain_by_chain(tiny_denoiser, monkeypatch):
    """A network call that fails because of one chain's rows fails that chain only."""
    engine = Engine(tiny_denoiser, dataclasses.replace(ENGINE, gather_s=0.5))
    real = tiny_denoiser.eps

    def eps(x, t, labels=None):
        if (x == 7.0).any():
            raise RuntimeError("this chain's input breaks the network")
        return real(x, t, labels)

    monkeypatch.setattr(tiny_denoiser, "eps", eps)
    out, errs = {}, {}

    def ask(name: str, value: float) -> None:
        with engine.open(name, name) as chain:
            try:
                out[name] = chain.eps(torch.full((1, 1, 28, 28), value), 10)
            except RuntimeError as exc:
                errs[name] = exc

    threads = [threading.Thread(target=ask, args=(n, v)) for n, v in (("ok", 0.5), ("broken", 7.0))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert set(out) == {"ok"} and set(errs) == {"broken"}
    torch.testing.assert_close(out["ok"], real(torch.full((1, 1, 28, 28), 0.5), 10))


def test_wrong_shapes_and_rows_are_refused_with_a_message(tiny_denoiser):
    engine = Engine(tiny_denoiser)
    with (
        engine.open("s", "a") as chain,
        pytest.raises(ValueError, match=r"x_t must have shape \(N, 1, 28, 28\)"),
    ):
        chain.eps(torch.zeros(1, 1, 8, 8), 10)
    with pytest.raises(ValueError, match="rows per step"):
        engine.open("s2", "a", rows=0)
