"""/inpaint, /export_inpaint and /roundtrip_sketch through a real gradio_client, against the app
in-process with a tiny class-conditional UNet."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from gradio_client import handle_file
from PIL import Image

from diffusion_demo.media.images import digit_examples, load_image, to_digit
from diffusion_demo.training.data import split
from diffusion_demo.ui.common import UIContext
from diffusion_demo.ui.tabs import inpaint as inpaint_tab

FAST = dict(seed=0, steps=6, jumps=2, digit="any", guidance=0.0)


@pytest.fixture(scope="module")
def client(cond_client):
    return cond_client


def grid_cells(path: str) -> np.ndarray:
    """A 4×4 grid PNG (1 px gaps) -> (16, 28, 28) uint8."""
    a = np.asarray(Image.open(path).convert("L"))
    return np.stack(
        [a[1 + 29 * r : 29 + 29 * r, 1 + 29 * c : 29 + 29 * c] for r in range(4) for c in range(4)]
    )


def test_inpaint_streams_16_completions_that_keep_the_unmasked_pixels(client):
    job = client.submit(image=None, mask="top", example="digit-7", **FAST, api_name="/inpaint")
    updates = list(job)
    result, x_t, kept, status, formula = job.result()
    assert len(updates) >= 2 and "Done" in status
    cells = grid_cells(result)
    digit = ((to_digit(load_image(digit_examples()["digit-7"]))[0].numpy() + 1) * 127.5).round()
    bottom = slice(14, 28)
    assert np.abs(cells[:, bottom].astype(float) - digit[bottom]).max() <= 1  # within 1/255
    assert len({c[:14].tobytes() for c in cells}) > 1  # the filled tops differ


def test_inpaint_takes_a_mask_image(client, tmp_path):
    m = np.zeros((28, 28), np.uint8)
    m[:, :10] = 255  # fill the left third
    Image.fromarray(m).save(tmp_path / "mask.png")
    out = client.predict(
        image=None,
        mask="painted",
        example="digit-3",
        mask_image=handle_file(str(tmp_path / "mask.png")),
        **FAST,
        api_name="/inpaint",
    )
    assert "Done" in out[3]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"mask": "painted"}, "nothing was painted"),
        ({"mask": "middle"}, "mask must be one of top, bottom, left, right, centre, painted; got 'middle'"),
        ({"steps": 0}, r"steps must be a number in \[1, \d+\]; got 0"),
        ({"jumps": 11}, r"jumps must be a number in \[1, 10\]; got 11"),
        ({"example": "digit-0"}, "example must be one of digit-3, .*; got 'digit-0'"),
    ],
)
def test_bad_inpaint_input_is_a_clean_error_and_the_server_keeps_serving(client, over, message):
    args = dict(image=None, mask="top", example="digit-7", **FAST) | over
    with pytest.raises(Exception, match=message):
        client.predict(**args, api_name="/inpaint")
    assert (
        "Done" in client.predict(image=None, mask="centre", example="digit-5", **FAST, api_name="/inpaint")[3]
    )


@pytest.mark.parametrize("fill", [0, 255])
def test_a_mask_image_covering_nothing_or_everything_is_refused(client, tmp_path, fill):
    Image.fromarray(np.full((28, 28), fill, np.uint8)).save(tmp_path / "m.png")
    with pytest.raises(Exception, match="covers nothing|covers everything"):
        client.predict(
            image=None,
            mask="painted",
            example="digit-7",
            mask_image=handle_file(str(tmp_path / "m.png")),
            **FAST,
            api_name="/inpaint",
        )


def test_an_upload_with_no_strokes_is_refused(client, tmp_path):
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    with pytest.raises(Exception, match="image has no strokes"):
        client.predict(
            image=handle_file(str(tmp_path / "blank.png")), mask="top", **FAST, api_name="/inpaint"
        )


def test_export_inpaint_writes_the_last_run(client):
    client.predict(image=None, mask="left", example="digit-8", **FAST, api_name="/inpaint")
    path = client.predict(format="png", api_name="/export_inpaint")
    assert Image.open(path).size[0] > 200


def sketch_value(path) -> dict:
    return {"background": None, "layers": [], "composite": handle_file(str(path))}


def test_roundtrip_of_a_drawing(client, tmp_path):
    canvas = np.zeros((280, 280), np.uint8)
    canvas[40:240, 130:150] = 255  # a "1"
    Image.fromarray(canvas).save(tmp_path / "one.png")
    recon, x0, x_t, status, formula = client.predict(
        sketch=sketch_value(tmp_path / "one.png"),
        t=300,
        seed=0,
        sampler="ddim",
        steps=10,
        digit="8",
        guidance=2.0,
        api_name="/roundtrip_sketch",
    )
    assert "RMS distance to your drawing" in status and "Steered towards a 8" in status
    assert "Medium t" in status or "Small t" in status or "Large t" in status


@pytest.mark.parametrize(
    ("canvas", "message"),
    [
        (np.zeros((280, 280), np.uint8), "The canvas is empty"),
        (np.full((280, 280), 255, np.uint8), "The canvas is 100% white"),
        (np.pad(np.full((3, 3), 255, np.uint8), 138), "a dot"),
    ],
)
def test_unusable_drawings_are_refused(client, tmp_path, canvas, message):
    Image.fromarray(canvas).save(tmp_path / "c.png")
    with pytest.raises(Exception, match=message):
        client.predict(sketch=sketch_value(tmp_path / "c.png"), t=300, api_name="/roundtrip_sketch")


def test_the_kept_frame_shows_before_a_run_what_fill_in_keeps(tiny_cond_denoiser):
    """The fill-in tab shows its digit and mask on arrival (issue #27): the same picture that
    Fill in then shows as "kept / to fill", for every preset; a bad value changes nothing."""
    ctx = UIContext(schedule=None, denoiser=tiny_cond_denoiser, checkpoint_error=None)
    for mask in ("top", "left"):
        first = next(inpaint_tab.fill_in(ctx, None, mask, 0, 2, 1, example="digit-7"))
        shown = inpaint_tab.kept_frame(None, mask, "digit-7")
        assert np.array_equal(np.asarray(shown), np.asarray(first[2]))
    assert not np.array_equal(
        np.asarray(inpaint_tab.kept_frame(None, "top", "digit-7")),
        np.asarray(inpaint_tab.kept_frame(None, "top", "digit-3")),
    )
    assert inpaint_tab.kept_frame(None, "painted", "digit-7") is None  # nothing painted yet
    assert inpaint_tab.kept_preview(None, "nope", "digit-7") == gr.skip()


def test_a_28x28_upload_is_kept_as_it_is(client, tmp_path):
    """An MNIST-sized upload is the model's input as it is (no 256 px round trip, which moved
    held-out digits' kept pixels by up to 0.021): the kept pixels equal the upload's exactly,
    and the status says so, comparing with what the user gave."""
    (_, _), (held_out, _) = split()
    for i in (0, 123, 499):  # held-out digits: never trained on
        digit = (held_out[i] * 255).round().astype(np.uint8)
        Image.fromarray(digit).save(tmp_path / f"held{i}.png")
        out = client.predict(
            image=handle_file(str(tmp_path / f"held{i}.png")), mask="top", **FAST, api_name="/inpaint"
        )
        status, cells = out[3], grid_cells(out[0])
        assert "your upload (used as it is, 28×28)" in status, status
        assert "Kept pixels within 0/255 of your upload" in status, status
        assert (cells[:, 14:] == digit[14:]).all()  # the kept bottom half: the upload's own pixels
