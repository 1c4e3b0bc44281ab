"""Look: a clean theme with readable contrast, light and dark, and a projector mode.

Three switches, all from the URL (read by HEAD's script before the page is drawn) or from
buttons at the bottom of the page:

- `?theme=dark` / `?theme=light`: the colour scheme (Gradio's own `?__theme=dark` works
  too). Gradio marks dark mode with the `dark` class on <body>; HEAD sets or clears it.
- `?projector=1`: large fonts and high contrast for a lecture hall (class `projector` on
  <html>, CSS variables below). `DIFFUSION_DEMO_PROJECTOR=1` makes it the default theme.
- `?embed=1`: compact mode for small iframes: only the selected tab's panel; no header,
  intro, tab bar, footer or share bar, and no schedule panel unless the tab is the
  schedule lab (class `embed` and `embed-tab-<tab>` on <html>).

`theme()` and `CSS` go to launch() (Gradio 6: theme, css, head are launch() arguments).
"""

from __future__ import annotations

import os

import gradio as gr

# Projector sizes: readable from the back of a lecture hall (the default "lg" is 16/20 px).
PROJECTOR_SIZE = gr.themes.Size(
    xxs="14px", xs="16px", sm="18px", md="22px", lg="26px", xl="32px", xxl="40px", name="projector"
)


def theme(projector: bool | None = None) -> gr.themes.Base:
    """The app's theme: Soft/indigo with darker secondary text than Soft's default.

    projector=True (or DIFFUSION_DEMO_PROJECTOR=1) gives large text and black-on-white /
    white-on-black contrast from the start; ?projector=1 does the same per page (CSS).
    """
    if projector is None:
        projector = os.environ.get("DIFFUSION_DEMO_PROJECTOR", "").lower() in ("1", "true", "yes")
    base = gr.themes.Soft(
        primary_hue="indigo",
        neutral_hue="slate",
        text_size=PROJECTOR_SIZE if projector else "lg",
    )
    # Soft's subdued text (neutral-400 on white) is below WCAG AA contrast: darken it.
    base = base.set(
        body_text_color="*neutral_900",
        body_text_color_dark="*neutral_50",
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        block_label_text_color="*neutral_700",
        block_label_text_color_dark="*neutral_200",
        block_info_text_color="*neutral_600",
        block_info_text_color_dark="*neutral_300",
    )
    if projector:
        base = base.set(
            body_text_color="#000000",
            body_text_color_dark="#ffffff",
            body_text_color_subdued="*neutral_800",
            body_text_color_subdued_dark="*neutral_100",
            block_label_text_color="#000000",
            block_label_text_color_dark="#ffffff",
            block_title_text_color="#000000",
            block_title_text_color_dark="#ffffff",
            border_color_primary="*neutral_500",
            border_color_primary_dark="*neutral_400",
            block_border_width="2px",
            input_border_width="2px",
        )
    return base


# The page's own additions. Selectors rely on elem_id values set in ui/ and on Gradio 6's
# DOM: the tab bar is `#tabs > .tab-wrapper`, the footer is <footer>.
CSS = """
#intro h1 { margin-bottom: 0.2em; }
.formula { font-size: 1.1em; }

/* Streamed digit grids arrive at native size (ui.common.frame_image): fill the panel, and
   keep every pixel square and sharp instead of blurring it (Gradio's default scales down only). */
.pixels img { object-fit: contain !important; image-rendering: pixelated; }
/* Their fullscreen/download/share buttons, and those of the rendered figures (ui.common
   .figure_image), cut the end off the label in a narrow column ("x_t (the chai…", "ε ~ N(0, I),
   fixed by the se…" at 1280×720): they show when the pointer or keyboard focus is on the image. */
.gradio-container :is(.pixels, .figure) .top-panel { opacity: 0; transition: opacity 0.15s; }
.gradio-container :is(.pixels, .figure):hover .top-panel,
.gradio-container :is(.pixels, .figure):focus-within .top-panel { opacity: 1; }

/* The sketchpads' zoom and undo bar (class sketch: ui.common.digit_sketchpad and the mask
   painter) sits at the top right, over the end of their label in the narrow column of a
   1280-px screen ("Your d…"): there it goes just under the label, in the canvas's margin (at
   1920 px the canvas fills the column, and the bar stays in the label's row). html.narrow-screen
   is set by HEAD's script: Gradio re-scopes the rules inside an @media block under its own
   container (prefix_css), where html-level selectors cannot match, and drops @container. */
html.narrow-screen .gradio-container .sketch .top-panel { top: 2.4rem; }
html.narrow-screen.projector .gradio-container .sketch .top-panel { top: 2.9rem; }
html.projector .gradio-container .sketch label[data-testid="block-label"] {
  font-size: var(--text-xs); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 100%;
}

/* Every picture whole: Gradio floats an image's label (and its buttons) over the picture's
   top-left (and top-right) corner, over the top row of a digit grid. Each image block becomes
   a two-row grid instead: the label and the buttons in the first row, side by side (a long
   label wraps; the buttons never cover it), the picture in the rest of the block. The
   `.image-container` (which holds the buttons and the picture) lends both to the grid. */
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) {
  display: grid !important; grid-template-columns: minmax(0, 1fr) auto;
  grid-template-rows: auto minmax(0, 1fr); column-gap: var(--spacing-sm);
}
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) > .image-container {
  display: contents;
}
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) > label[data-testid="block-label"] {
  position: static; grid-area: 1 / 1; justify-self: start; max-width: 100%; margin: 0;
}
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) > .image-container > .top-panel {
  position: static; grid-area: 1 / 2; align-self: start;
}
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) > .image-container > button,
.gradio-container .block:is(.pixels, .figure, :has(> .image-container)):not(.sketch) > .empty {
  grid-area: 2 / 1 / 3 / 3; min-height: 0; min-width: 0; height: 100%; width: 100%;
}

/* Share bar and download rows: small and out of the way. */
#share-bar { margin-top: 0.5em; align-items: end; }
.downloads { gap: 0.4em; align-items: center; flex-wrap: wrap; }
.downloads button { flex: 0 0 auto; }

/* ---- embed mode (?embed=1): only the selected panel ----
   Scoped to .gradio-container: inside a <gradio-app> the classes sit on the host page's
   <html>, whose own header and footer must stay. */
html.embed .gradio-container #intro,
html.embed .gradio-container #schedule-hint,
html.embed .gradio-container #tabs > .tab-wrapper,
html.embed .gradio-container footer,
html.embed .gradio-container #share-bar { display: none !important; }
html.embed:not(.embed-tab-schedule) .gradio-container #schedule-panel { display: none !important; }
html.embed .gradio-container { padding: 4px !important; max-width: none !important; }
html.embed .gradio-container #tabs { border: none !important; }

/* ---- projector mode (?projector=1): large fonts, high contrast ----
   Gradio's theme declares its variables on :root (many as var(--text-md) and the like,
   resolved there) and again on `.dark` (<body> in dark mode): override them on <html>
   itself, and on body.dark for dark mode. */
html.projector,
html.projector body.dark {
  --text-xxs: 14px; --text-xs: 16px; --text-sm: 18px; --text-md: 22px;
  --text-lg: 26px; --text-xl: 32px; --text-xxl: 40px;
  --block-border-width: 2px; --input-border-width: 2px;
}
html.projector {
  --body-text-color: #000; --body-text-color-subdued: #1a1a1a;
  --block-label-text-color: #000; --block-title-text-color: #000; --block-info-text-color: #1a1a1a;
  --background-fill-primary: #fff; --body-background-fill: #fff; --block-background-fill: #fff;
  --border-color-primary: #444; --input-border-color: #444; --block-border-color: #444;
  --link-text-color: #0b2fa8;
}
html.projector body.dark {
  --body-text-color: #fff; --body-text-color-subdued: #ededed;
  --block-label-text-color: #fff; --block-title-text-color: #fff; --block-info-text-color: #ededed;
  --background-fill-primary: #000; --body-background-fill: #000; --block-background-fill: #0a0a0a;
  --border-color-primary: #bbb; --input-border-color: #bbb; --block-border-color: #bbb;
  --link-text-color: #9cc2ff;
}
html.projector .prose, html.projector .prose p, html.projector .prose li { font-size: var(--text-md); }
html.projector .formula { font-size: 1.25em; }
html.projector input[type="range"] { height: 10px; }
/* The selected tab in the accent colour: dark enough on white, light enough on black; white
   text on a darker indigo for primary buttons, selected radios and labels (all ≥ 7:1). */
html.projector { --color-accent: #312e81; }
html.projector, html.projector body.dark {
  --button-primary-background-fill: #312e81; --button-primary-background-fill-hover: #3730a3;
  --button-primary-text-color: #fff; --button-primary-text-color-hover: #fff;
  --checkbox-label-background-fill-selected: #312e81; --checkbox-label-text-color-selected: #fff;
}
html.projector body.dark {
  --color-accent: #c7d2fe;
  /* white labels on indigo-600 are 6.3:1: a darker indigo under them */
  --block-title-background-fill: #312e81; --block-label-background-fill: #312e81;
}
html.projector .gradio-container #tabs > .tab-wrapper button.selected { color: var(--color-accent); }

/* ---- visuals first (projector and embed) ----
   The pictures and the tab's main control on the first screen: the app's header shrinks to
   its title, the tab bar to one line (its labels a size smaller; Gradio moves tabs that do
   not fit behind a "…" menu), and each tab's Explain section is closed (HEAD's script). */
html.projector .gradio-container #intro p { display: none; }
html.projector .gradio-container #intro h1 { font-size: var(--text-xl); line-height: 1.2; margin: 0; }
html.projector .gradio-container #schedule-panel { padding: var(--size-1) var(--size-3); }
html.projector .gradio-container #schedule-panel > .label-wrap { font-size: var(--text-sm); }
html.projector .gradio-container #tabs > .tab-wrapper .tab-container button {
  font-size: var(--text-sm); padding: var(--size-1) var(--size-2);
}

/* A run's status wraps (its end, the time or the verdict, is what a lecturer points at) and
   keeps room for two lines, so the frames under it do not move while a run streams. */
.gradio-container :is(#reverse-status, #roundtrip-status, #inpaint-status) {
  --status-size: var(--text-md); min-height: calc(2 * 1.45 * var(--status-size) + 1px); overflow-wrap: anywhere;
}
html.projector .gradio-container :is(#reverse-status, #roundtrip-status, #inpaint-status) { --status-size: var(--text-sm); }
.gradio-container :is(#reverse-status, #roundtrip-status, #inpaint-status) :is(p, span) {
  font-size: var(--status-size); line-height: 1.45;
}
.gradio-container :is(#reverse-status, #roundtrip-status, #inpaint-status) code { line-height: 1; }

/* Big frames: the reverse chain's x_t and the round trip's reconstruction as one large
   square (at least 480 px on a 1280×720 screen) with the other frames small beside it;
   pixels stay square (.pixels: object-fit contain, image-rendering pixelated). In projector
   mode the big frames' labels (and buttons) sit on their left, so that the pictures keep the
   full height left under the header and a two-line status, and so do those of the reverse
   chain's three small frames (their grids then fill the frames instead of sitting small in
   wide boxes); the round trip's two small frames are tall enough for theirs on top. In embeds
   (no header) every label stays on top. */
/* (projector: gaps of 10 px instead of 16 between the header's rows give the picture its room) */
html.projector {
  --big-frame: clamp(300px, calc(100vh - 234px), 760px); --frame-label: 8.5rem; --layout-gap: 10px;
}
html.embed { --big-frame: clamp(300px, calc(100vh - 110px), 760px); --frame-label: 0px; }
/* lecture mode adds the scene bar (about 130 px) above the tabs: the frame gives way */
html.lecture.projector { --big-frame: clamp(300px, calc(100vh - 360px), 760px); }
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames),
html.embed .gradio-container :is(#reverse-frames, #roundtrip-frames) {
  display: grid !important;
  grid-template-columns: calc(var(--big-frame) + var(--frame-label) + var(--frame-label-gap, 0px)) minmax(120px, 1fr);
  grid-template-rows: repeat(var(--small-frames), calc((var(--big-frame) - var(--small-gaps)) / var(--small-frames)));
  gap: var(--layout-gap);
}
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames) { --frame-label-gap: var(--spacing-sm); }
/* (the reverse chain's labels break into short words: a narrower column, larger small grids) */
html.projector .gradio-container #reverse-frames { --frame-label: 7rem; }
#reverse-frames { --small-frames: 3; --small-gaps: calc(2 * var(--layout-gap)); }
#roundtrip-frames { --small-frames: 2; --small-gaps: var(--layout-gap); }
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames) > .block,
html.embed .gradio-container :is(#reverse-frames, #roundtrip-frames) > .block {
  height: 100% !important; min-width: 0 !important; width: auto !important; margin: 0 !important;
}
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames) > :is(#reverse-xt, #roundtrip-recon),
html.embed .gradio-container :is(#reverse-frames, #roundtrip-frames) > :is(#reverse-xt, #roundtrip-recon) {
  grid-column: 1; grid-row: 1 / -1; height: var(--big-frame) !important;
  width: calc(var(--big-frame) + var(--frame-label) + var(--frame-label-gap, 0px)) !important;
}
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames) label[data-testid="block-label"] {
  font-size: var(--text-xs); overflow-wrap: break-word;
}
html.projector .gradio-container :is(#reverse-frames, #roundtrip-frames) label[data-testid="block-label"] > span {
  display: none;  /* the image icon: room for the words */
}
html.projector .gradio-container :is(#reverse-frames > .block, #roundtrip-frames > #roundtrip-recon) {
  grid-template-columns: var(--frame-label) minmax(0, 1fr); grid-template-rows: auto auto minmax(0, 1fr);
  column-gap: var(--frame-label-gap); row-gap: var(--spacing-sm);
}
html.projector .gradio-container :is(#reverse-frames > .block, #roundtrip-frames > #roundtrip-recon) > .image-container > .top-panel {
  grid-area: 2 / 1; justify-self: start;
}
html.projector .gradio-container :is(#reverse-frames > .block, #roundtrip-frames > #roundtrip-recon) > .image-container > button,
html.projector .gradio-container :is(#reverse-frames > .block, #roundtrip-frames > #roundtrip-recon) > .empty {
  grid-area: 1 / 2 / 4 / 3;
}
/* The schedule chart: as tall as the screen leaves under the schedule controls. */
html.projector .gradio-container #schedule-chart { height: clamp(260px, calc(100vh - 420px), 560px) !important; }
/* The 2D tab's figures: small enough that the first pair fits under the t slider. */
html.projector .gradio-container :is(#toy-forward, #toy-reverse) { height: auto !important; }
html.projector .gradio-container :is(#toy-forward, #toy-reverse) img { max-height: calc(100vh - 370px); }
"""

# Runs in <head> before the app is drawn (Gradio 6 injects launch(head=…) after reading
# its config and applying ?__theme, so the classes set here win).
HEAD = r"""
<script>
// Projector and embed modes: every tab's Explain section (id "<tab>-explain", an accordion
// open by default) is kept closed, so the pictures come first, until the reader opens it
// (a real click or key, event.isTrusted). Gradio may draw a tab's section again, open, when
// the tab is shown, and ignores clicks while it sets the page up: the section is closed
// whenever it shows open (by a click on its header, at most every 250 ms). Switching
// projector mode on later closes them all again.
function closeExplainsOnStage(root) {
  var HEAD = '[id$="-explain"] > button.label-wrap';
  var staged = function () { return /(^|\s)(projector|embed)(\s|$)/.test(root.className); };
  var close = function () {
    if (!staged()) return;
    document.querySelectorAll(HEAD + ".open").forEach(function (head) {
      var box = head.parentElement;
      if (box.hasAttribute("data-reader-opened")) return;
      var last = Number(box.getAttribute("data-stage-click") || 0);
      if (Date.now() - last < 250) return;
      box.setAttribute("data-stage-click", String(Date.now()));
      head.click();
    });
  };
  document.addEventListener("click", function (e) {
    var head = e.isTrusted && e.target.closest && e.target.closest(HEAD);
    if (head) head.parentElement.setAttribute("data-reader-opened", "1");
  }, true);
  new MutationObserver(close).observe(root, { childList: true, subtree: true, attributes: true, attributeFilter: ["class"] });
  var polls = 0, timer = setInterval(function () { close(); if (++polls > 120) clearInterval(timer); }, 250);
  var was = staged();
  new MutationObserver(function () {
    var now = staged();
    if (now && !was) {
      document.querySelectorAll("[data-reader-opened]").forEach(function (b) { b.removeAttribute("data-reader-opened"); });
      close();
    }
    was = now;
  }).observe(root, { attributes: true, attributeFilter: ["class"] });
}
// Screens narrower than 1600 px (a 1280×720 projector): see the sketchpads' rule in CSS.
(function () {
  var root = document.documentElement;
  var mark = function () { root.classList.toggle("narrow-screen", window.innerWidth < 1600); };
  mark();
  window.addEventListener("resize", mark);
})();
(function () {
  try {
    var q = new URLSearchParams(window.location.search);
    var on = function (v) { return v !== null && /^(1|true|yes|on|)$/i.test(v); };
    var root = document.documentElement;
    if (on(q.get("embed"))) {
      root.classList.add("embed");
      var tab = (q.get("tab") || "").toLowerCase().replace(/[^a-z0-9_-]/g, "");
      if (tab) root.classList.add("embed-tab-" + tab);
    }
    if (on(q.get("projector"))) root.classList.add("projector");
    closeExplainsOnStage(root);
    var mode = (q.get("theme") || "").toLowerCase();
    if (mode === "dark" || mode === "light") {
      var apply = function () { document.body.classList.toggle("dark", mode === "dark"); };
      if (document.body) apply(); else document.addEventListener("DOMContentLoaded", apply);
    }
  } catch (e) { /* a page with an odd URL still opens */ }
})();
</script>
"""
