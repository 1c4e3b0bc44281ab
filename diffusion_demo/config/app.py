"""The app around the chains: tab defaults, exports and downloads, the queue, deep links.

May import: the standard library only (import the settings from diffusion_demo.config).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ForwardTab:
    # A photo, not a digit: students recognise a landscape dissolving into noise at a glance.
    example: str = "photo-landscape"
    # A quarter of the linear schedule's T = 1000: image and noise both still plainly visible.
    t: int = 250
    # Seed 0: the page and every deep link without a seed show the same ε.
    seed: int = 0


@dataclass(frozen=True)
class ScheduleTab:
    # The T → ∞ table: ᾱ_T for these T (and the current one), from "barely noisy" to the max_T limit.
    t_limit_steps: tuple[int, ...] = (10, 100, 1000, 4000)


FORWARD_TAB = ForwardTab()
SCHEDULE_TAB = ScheduleTab()


@dataclass(frozen=True)
class ExportSettings:
    # 10 frames per second: 40 frames play in 4 s, slow enough to follow one step.
    fps: float = 10.0
    # Browsers and players clamp GIF frame delays below 20 ms (50 fps); refuse more.
    max_fps: float = 50.0
    # Seconds the last frame stays up before the GIF/MP4 loops: the result deserves a look.
    hold_last_s: float = 1.0
    # A PNG strip wraps after this many frames: 10 fit a slide's width.
    strip_per_row: int = 10
    # Frames of a reverse chain (one per step up to this, else evenly spaced): bounded
    # memory and file size whatever the step count.
    max_frames: int = 100
    # ... but a PNG strip of a reverse chain / round trip is a figure: this many frames.
    strip_frames: int = 10
    # Digits are 28 px: show each pixel as a 4x4 block so the frames are legible.
    digit_scale: int = 4
    # The forward chain's frames: the longer side of the input image is resized to this.
    forward_size: int = 256
    # A caption band ("t = 500") under each frame, in pixels; 0 turns the captions off.
    caption_px: int = 14
    # CRF-like quality of imageio-ffmpeg (0-10): 8 keeps digit edges crisp at small sizes.
    mp4_quality: float = 8.0
    # `export toy2d`: the 2D figures play a little faster than digit chains (the tab's GIF).
    toy2d_fps: float = 12.0


@dataclass(frozen=True)
class DownloadSettings:
    # Forward chain: 40 frames play in 4 s at export's 10 fps (the CLI's default too).
    forward_frames: int = 40
    # ... and a PNG strip is a figure for a slide: one row of 10 (x_0 … x_T).
    forward_strip_frames: int = 10
    # Round trip: frames of the way back at most (plus x_0 and x_t): bounded file size.
    roundtrip_frames: int = 60
    # The 2D animation: frames each way (forward, then reverse), as the tab's own GIF.
    toy2d_frames: int = 24
    toy2d_fps: float = 12.0
    # Our per-call folders are deleted after this long: Gradio has copied the file by then
    # (it copies as soon as the event returns).
    keep_s: float = 300.0


EXPORT = ExportSettings()
DOWNLOADS = DownloadSettings()


@dataclass(frozen=True)
class QueueConfig:
    # Every event that runs seconds of torch work (chains, 2D training, exports) shares one
    # worker: torch already keeps both cores busy, so two such jobs would only slow each other.
    heavy_id: str = "heavy"
    heavy_limit: int = 1
    # The UNet's chains (reverse, comparisons, round trip, fill in, their downloads) share the
    # network through the batching engine (serving/engine.py), not a worker each: their
    # handlers run side by side (a whole class at once) and wait in the engine's line.
    chains_id: str = "chains"
    chains_limit: int = 64
    # Gradio's thread pool: each running chain holds a thread while it waits for its tick, and
    # light calls (/forward) need threads of their own beside a class of 30 … 64 chains.
    max_threads: int = 100
    # Gradio's queue looks for new jobs every 1 ms and for progress every 10 ms; each wake-up
    # takes the GIL from torch (DDIM-50: 1.70 s instead of 1.37 s). While a heavy job runs it
    # polls every 5 ms and 50 ms (a job still starts within 5 ms, a bar moves 20 times a
    # second); idle it keeps 1 ms, which /forward's latency needs. (idle, busy) seconds.
    queue_poll_s: tuple[float, float] = (0.001, 0.005)
    progress_poll_s: tuple[float, float] = (0.01, 0.05)
    # Trailing parameters (with defaults) added to an endpoint after scripts were written
    # against it: an old, shorter raw HTTP call gets their defaults, as gradio_client does.
    # (api_name, how many trailing inputs may be left out).
    added_later: tuple[tuple[str, int], ...] = (("reverse", 2), ("compare", 2))


@dataclass(frozen=True)
class DeepLinkLimits:
    # Longer query values are refused unread: no link a person writes needs more.
    max_value_chars: int = 200
    # One toast lists at most this many problems ("; and N more"), not a wall of text.
    max_warnings_shown: int = 6
    # A value quoted in a warning is cut to this many characters (with "…").
    max_quoted_chars: int = 40


QUEUE = QueueConfig()
DEEPLINKS = DeepLinkLimits()


@dataclass(frozen=True)
class LectureSettings:
    """Lecture mode (`?lecture=…`, ui/lecture.py): scene lists read from JSON files."""

    # `?lecture=1` opens this list (diffusion_demo/ui/scenes/default.json): the blog's order.
    default_list: str = "default"
    # A scene list is a page of text: a larger file is refused unread (a wrong path, not a lecture).
    max_file_bytes: int = 64_000
    # More scenes than a lecture has slides is a mistake; the counter stays readable ("12 / 40").
    max_scenes: int = 40
    # A title and a caption are one line on the projector; longer text is an error, not a wrap.
    max_title_chars: int = 80
    max_caption_chars: int = 300
    # A scene's deep link, as long as a person writes one (the copy-link button's are ~150).
    max_query_chars: int = 600
    # `?lecture=<path>`: a server path is at most this long (a name is much shorter).
    max_value_chars: int = 300


LECTURE = LectureSettings()


@dataclass(frozen=True)
class PlaybackSettings:
    """The lecture stage's motion: the forward tab's ▶ Play, autoplay/loop and the keys (ui/keys.py)."""

    # 0 → T in 5 s: slow enough to see the image fade, quick enough to hold a room's attention.
    sweep_s: float = 5.0
    # ← / → move a t slider by 1/20 of its range (50 of T = 1000): a clicker press is a visible step.
    notches: int = 20
    # loop=1 on a chain tab: the finished picture stays up this long before the next run starts.
    loop_hold_s: float = 3.0
    # ε is sent to the browser as 16-bit values over ±8σ (one level = 0.00024σ: exact on screen);
    # |ε| > 8σ has probability 1e-15 per pixel.
    eps_range: float = 8.0


PLAYBACK = PlaybackSettings()


@dataclass(frozen=True)
class CLISettings:
    """`python -m diffusion_demo sample` (cli/main.py)."""

    # The UI caps a request at 16 samples; the CLI is for batches of hundreds (evaluation,
    # figures). 100,000 digits are 300 MB of float32: a sane upper bound on a laptop.
    max_samples: int = 100_000
    # Images per UNet call: 64 keeps the per-image cost low on a CPU and the memory small.
    batch_size: int = 64
    # More than this per call gains nothing on a CPU and only risks memory.
    max_batch_size: int = 256
    # A grid PNG/GIF of 28 px digits shows each pixel as a 2x2 block: readable, still small.
    scale: int = 2
    # GIF of the chain: one frame per step up to this many, else evenly spaced steps.
    max_frames: int = 100
    # GIF playback speed.
    fps: float = 10.0


CLI = CLISettings()
