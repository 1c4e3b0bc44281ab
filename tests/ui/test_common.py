"""The UI's handler wrappers: `guarded` (user errors become clear gr.Error messages, nothing
else leaks) and `bind` (a tab's context bound, what Gradio reads kept). `around` is tested
with the rest of ui.runtime (tests/ui/test_runtime.py)."""

from __future__ import annotations

import gradio as gr
import pytest

from diffusion_demo.models.unet import CheckpointError
from diffusion_demo.serving.engine import Replaced
from diffusion_demo.ui.common import guarded


@pytest.mark.parametrize("error", [ValueError("steps must be ≤ 1000"), CheckpointError("rebuild it so")])
def test_guarded_turns_user_errors_into_their_own_message(error):
    def handler():
        raise error

    def gen_handler():
        yield 1
        raise error

    with pytest.raises(gr.Error) as caught:
        guarded(handler)()
    assert caught.value.message == str(error)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no traceback chain

    gen = guarded(gen_handler)()
    assert next(gen) == 1
    with pytest.raises(gr.Error) as caught:
        next(gen)
    assert caught.value.message == str(error)
    assert caught.value.visible  # a toast in the UI


def test_a_run_replaced_by_the_users_newer_one_ends_without_a_toast():
    """The API still says why the run ended; the page, where the newer run is on screen, shows
    no red "Error" for a button the user pressed."""

    def chain():
        yield "step 1"
        raise Replaced("this run was replaced by a newer one")

    gen = guarded(chain)()
    assert next(gen) == "step 1"
    with pytest.raises(gr.Error, match="replaced by a newer one") as caught:
        next(gen)
    assert caught.value.visible is False


def test_guarded_reports_an_unexpected_error_without_its_internals(caplog):
    def export_gif():
        raise KeyError("/srv/secret/path")

    with pytest.raises(gr.Error) as caught:
        guarded(export_gif)()
    assert caught.value.message == "Something went wrong in export_gif (KeyError); please try again."
    assert "secret" not in caught.value.message
    assert "unexpected error in export_gif" in caplog.text  # logged on the server instead


def test_guarded_passes_gradio_errors_through_and_lets_stop_close_a_generator():
    def handler():
        raise gr.Error("already clear")

    with pytest.raises(gr.Error, match="already clear"):
        guarded(handler)()

    closed = []

    def chain():
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    gen = guarded(chain)()
    assert next(gen) == 1
    gen.close()  # GeneratorExit is not an error to convert: it must reach the chain
    assert closed == [True]


def test_bind_keeps_what_gradio_reads():
    """A tab's handler with its context bound: Gradio must still see its name and docstring (the
    API page), the remaining parameters (the API's names) and a gr.Request hint (Stop finds the
    session's run by it)."""
    import inspect

    import gradio as gr
    from gradio import utils

    from diffusion_demo.ui.common import bind, guarded

    def handler(ctx, sampler: str, steps: float = 5, session: gr.Request = None):
        """Does the work."""
        yield ctx, sampler, steps, session

    wrapped = guarded(bind(handler, "the context"))
    assert wrapped.__name__ == "handler" and wrapped.__doc__ == "Does the work."
    assert list(inspect.signature(wrapped).parameters) == ["sampler", "steps", "session"]
    assert utils.get_type_hints(wrapped)["session"] is gr.Request
    assert next(wrapped("ddim")) == ("the context", "ddim", 5, None)
