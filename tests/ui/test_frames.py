"""Which steps become frames, what they cost, and what the UI is sent."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from diffusion_demo.config import REVERSE
from diffusion_demo.diffusion.sampling import ReverseRequest, StepRecord
from diffusion_demo.media.chains import show, tensor_frame
from diffusion_demo.ui.frames import Replay, Throttle, stream


def record(index: int, num_steps: int = 100) -> StepRecord:
    x = torch.zeros(1, 1, 4, 4)
    return StepRecord(index, num_steps, 999 - index, 998 - index, x, x, x, x)


def test_throttle_always_shows_the_first_and_last_step_and_at_most_fps():
    throttle = Throttle(fps=10, budget=1.0)
    picks = [throttle(record(i, 50)) for i in range(50)]  # 50 steps in far less than 0.1 s
    assert picks[0] and picks[-1]
    assert sum(picks) == 2


def test_throttle_waits_long_enough_for_frames_to_stay_within_the_budget():
    throttle = Throttle(fps=1000, budget=0.1)
    assert throttle(record(0))
    throttle.spent(0.02)  # the frame took 20 ms to make and show: the next waits 0.2 s
    start = time.perf_counter()
    shown_at = None
    i = 1
    while shown_at is None:
        if throttle(record(i, num_steps=10**9)):
            shown_at = time.perf_counter() - start
        i += 1
    assert 0.19 <= shown_at < 0.4


def test_a_slow_consumer_gets_fewer_frames_not_a_slower_chain(tiny_denoiser):
    request = ReverseRequest(sampler="ddim", steps=60, num_samples=2, seed=0)

    def consume(delay: float) -> tuple[int, float]:
        frames, start = 0, time.perf_counter()
        for _frame in stream(tiny_denoiser, request, fps=1000):
            frames += 1
            time.sleep(delay)  # Gradio encoding and sending the frame
        return frames, time.perf_counter() - start

    delay = 0.01
    fast_frames, _ = consume(0.0)
    slow_frames, wall = consume(delay)
    assert slow_frames < fast_frames
    # Frames take at most REVERSE.frame_budget of the run: a frame's cost (at least `delay`) is
    # paid by the chain's time before the next one, but for the first and last frames, which
    # come anyway. On any machine: a slower chain earns more frames, not fewer.
    assert (slow_frames - 2) * delay <= REVERSE.frame_budget * wall, (slow_frames, wall)


def test_streamed_frames_are_native_size_and_exports_upscaled():
    batch = torch.rand(16, 1, 28, 28) * 2 - 1
    native = tensor_frame(batch)
    assert native.size == (4 * 28 + 5, 4 * 28 + 5)  # a 4×4 grid with 1 px borders
    assert tensor_frame(batch, REVERSE.frame_width).width == REVERSE.frame_width
    stored = np.asarray(native)
    assert show(stored).size == native.size
    assert show(stored, REVERSE.frame_width).size == (REVERSE.frame_width,) * 2


@pytest.mark.parametrize("steps", [1, 7, 1000])
def test_replay_keeps_a_bounded_even_spread_with_the_last_step(steps):
    replay = Replay(steps)
    assert len(replay.keep) == min(steps, REVERSE.max_replay_frames)
    assert steps - 1 in replay.keep and 0 in replay.keep


def test_stop_ends_the_chain_before_another_step(tiny_denoiser):
    request = ReverseRequest(sampler="ddpm", steps=500, num_samples=1, seed=0)
    store, pressed = Replay(500, limit=500), []  # every step stored
    for frame in stream(tiny_denoiser, request, store, fps=1000, stop=lambda: bool(pressed)):
        if frame.record.index >= 3:
            pressed.append(frame.record.index)  # Stop, while this frame is on screen
    assert len(pressed) == 1  # no frame after it
    assert store.frames[-1]["index"] == pressed[0]  # and not one step more was computed


def test_frames_show_the_pixels_the_replay_keeps_with_or_without_a_store(tiny_denoiser):
    request = ReverseRequest(sampler="ddim", steps=12, num_samples=4, seed=0)
    store = Replay(12)
    frames = list(stream(tiny_denoiser, request, store, fps=1000))
    kept = {f["index"]: f for f in store.frames}
    assert {0, 11} <= {f.record.index for f in frames}
    for frame in frames:  # made from the stored copy: the very pixels the scrubber replays
        for key in ("x_t", "x0", "eps"):
            np.testing.assert_array_equal(np.asarray(getattr(frame, key)), kept[frame.record.index][key])
    bare = {f.record.index: f for f in stream(tiny_denoiser, request, fps=1000)}  # no store
    for frame in frames:
        if frame.record.index in bare:  # (the throttle may pick other steps in between)
            for key in ("x_t", "x0", "eps"):
                np.testing.assert_array_equal(
                    np.asarray(getattr(frame, key)), np.asarray(getattr(bare[frame.record.index], key))
                )
    assert (
        np.asarray(frames[-1].x_t).std() > 0 and frames[-1].x_t.size == (2 * (28 + 1) + 1,) * 2
    )  # 2×2 digits


def test_a_two_call_sampler_keeps_its_last_call_for_the_replay(tiny_denoiser):
    """Heun asks for 6 steps and makes 11 network calls: the replay spreads over the calls,
    and the run's final frame (what the tab shows when it is done) is the last one's."""
    request = ReverseRequest(sampler="heun", steps=6, num_samples=2)
    store = Replay(request.steps)
    frames = list(stream(tiny_denoiser, request, store))
    assert frames[-1].record.index == 10 and store.frames[-1]["index"] == 10
    assert {f["index"] for f in store.frames} == set(range(11))
    assert [f.get("stage", 1) for f in store.frames][:3] == [1, 2, 1]
