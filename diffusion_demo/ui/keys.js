// The lecture stage in the browser: ▶ Play, autoplay / loop and the keys (see keys.py).
// keys.py puts this file into the page head with __SETTINGS__ replaced by its settings (JSON).
(function () {
  "use strict";
  var CFG = __SETTINGS__;
  var q = new URLSearchParams(window.location.search);
  var flag = function (v) { return v !== null && /^(1|true|yes|on|)$/i.test(v); };
  var LOOP = flag(q.get("loop"));
  var $ = function (id) { return document.getElementById(id); };
  var shown = function (el) { return !!el && el.offsetParent !== null && !el.disabled; };

  function currentTab() {
    var sel = document.querySelector('#tabs [role="tab"][aria-selected="true"]');
    var id = sel && ((sel.dataset && sel.dataset.tabId) || sel.id || "");
    id = String(id || "").replace(/-button$/, "").replace(/^tab-/, "");
    if (CFG.tabs[id]) return id;
    var tabs = Array.prototype.slice.call(document.querySelectorAll('#tabs [role="tab"]'));
    var names = Object.keys(CFG.tabs);
    var i = sel ? tabs.indexOf(sel) : 0;
    return names[i] || names[0];
  }
  function sliderParts(id) {
    var root = $(id);
    if (!root) return null;
    return { range: root.querySelector('input[type="range"]'), num: root.querySelector('input[type="number"]') };
  }
  // show: thumb and number box only (no event: the server is not asked);
  // commit: as if the user had moved it (Gradio's change event follows: one request).
  function setSlider(id, value, commit) {
    var s = sliderParts(id);
    if (!s || !s.range || s.range.disabled) return null;
    var lo = Number(s.range.min), hi = Number(s.range.max), step = Number(s.range.step) || 1;
    var v = Math.min(hi, Math.max(lo, Math.round(value / step) * step));
    s.range.value = String(v);
    if (s.num) s.num.value = String(v);
    var pct = hi > lo ? (100 * (v - lo)) / (hi - lo) : 0;
    s.range.style.setProperty("--range_progress", pct + "%");
    if (commit) {
      s.range.dispatchEvent(new Event("input", { bubbles: true }));
      s.range.dispatchEvent(new Event("change", { bubbles: true }));
    }
    return v;
  }

  // ---------------- ▶ Play (forward tab) ----------------
  var play = { state: "idle", data: null, nonce: "", raf: 0, canvas: null, label: null, committed: null };

  function buttonText(text) { var b = $("forward-play"); if (b) b.textContent = text; }

  function decode(url) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () {
        var c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        var g = c.getContext("2d", { willReadFrequently: true });
        g.drawImage(img, 0, 0);
        resolve(g.getImageData(0, 0, c.width, c.height).data);
      };
      img.onerror = reject;
      img.src = url;
    });
  }
  function prepare(d) {
    return Promise.all([decode(d.x0), decode(d.eps_hi), decode(d.eps_lo)]).then(function (px) {
      var n = d.width * d.height, x0 = new Float32Array(n * 3), eps = new Float32Array(n * 3);
      for (var i = 0; i < n; i++) {
        for (var c = 0; c < 3; c++) {
          var k = 4 * i + (d.channels === 1 ? 0 : c);
          x0[3 * i + c] = px[0][k] / 127.5 - 1;
          eps[3 * i + c] = ((px[1][k] * 256 + px[2][k]) / 32767.5 - 1) * d.eps_range;
        }
      }
      d.x0f = x0; d.epsf = eps;
      return d;
    });
  }
  function overlay() {
    var img = document.querySelector("#forward-xt img");
    if (!img || !img.offsetParent) return null;
    var host = img.offsetParent;
    if (!play.canvas || play.canvas.parentNode !== host) {
      if (play.canvas) play.canvas.remove();
      if (play.label) play.label.remove();
      play.canvas = document.createElement("canvas");
      play.canvas.className = "play-overlay";
      play.canvas.id = "forward-play-canvas";
      play.label = document.createElement("div");
      play.label.id = "forward-play-t";
      host.appendChild(play.canvas); host.appendChild(play.label);
    }
    var cs = window.getComputedStyle(img);
    var st = play.canvas.style;
    st.left = img.offsetLeft + "px"; st.top = img.offsetTop + "px";
    st.width = img.offsetWidth + "px"; st.height = img.offsetHeight + "px";
    st.objectFit = cs.objectFit || "contain"; st.objectPosition = cs.objectPosition;
    // the badge in the picture's lower left corner (Gradio's own label covers the top)
    var d = play.data, W = img.offsetWidth, H = img.offsetHeight;
    var k = d ? Math.min(W / d.width, H / d.height) : 1;
    if (st.objectFit === "scale-down") k = Math.min(k, 1);
    else if (st.objectFit === "none") k = 1;
    var cw = d ? d.width * k : W, ch = d ? d.height * k : H;
    play.label.style.left = img.offsetLeft + (W - cw) / 2 + 6 + "px";
    play.label.style.top = img.offsetTop + (H + ch) / 2 - play.label.offsetHeight - 6 + "px";
    return play.canvas;
  }
  // x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε, clipped to [-1, 1], as RGBA bytes (media.images.to_uint8)
  function fill(out, t) {
    var d = play.data, a = d.a[t], b = d.b[t], x0 = d.x0f, eps = d.epsf, n = d.width * d.height;
    for (var i = 0; i < n; i++) {
      for (var c = 0; c < 3; c++) {
        var v = a * x0[3 * i + c] + b * eps[3 * i + c];
        out[4 * i + c] = Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5);
      }
      out[4 * i + 3] = 255;
    }
    return out;
  }
  function draw(t) {
    var d = play.data, canvas = overlay();
    if (!canvas) return;
    if (canvas.width !== d.width || canvas.height !== d.height) { canvas.width = d.width; canvas.height = d.height; }
    var g = canvas.getContext("2d"), im = g.createImageData(d.width, d.height);
    fill(im.data, t);
    g.putImageData(im, 0, 0);
    play.label.textContent = "t = " + t;
  }
  // For tests and tools: the RGB bytes the sweep draws at t (null before the first ▶ Play).
  function pixels(t) {
    var d = play.data;
    if (!d) return null;
    var rgba = fill(new Uint8ClampedArray(d.width * d.height * 4), t), rgb = [];
    for (var i = 0; i < rgba.length; i += 4) rgb.push(rgba[i], rgba[i + 1], rgba[i + 2]);
    return { width: d.width, height: d.height, rgb: rgb };
  }
  function removeOverlay() {
    if (play.canvas) play.canvas.remove();
    if (play.label) play.label.remove();
    play.canvas = null; play.label = null;
  }
  function start(d) {
    var s = sliderParts("forward-t");
    var T = d.T, t0 = s && s.range ? Math.round(Number(s.range.value)) : 0;
    if (!(t0 >= 0 && t0 <= T)) t0 = 0;
    play.committed = t0;
    play.state = "playing";
    buttonText("❚❚ Pause");
    var began = performance.now(), speed = T / CFG.sweep_s, last = -1;
    function frame(now) {
      if (play.state !== "playing") return;
      var moved = (speed * (now - began)) / 1000;
      if (!LOOP && moved >= 2 * T) { stop(t0); return; }
      var u = (t0 + moved) % (2 * T);
      var t = Math.round(u <= T ? u : 2 * T - u);
      if (t !== last) { draw(t); setSlider("forward-t", t, false); last = t; }
      play.raf = window.requestAnimationFrame(frame);
    }
    play.raf = window.requestAnimationFrame(frame);
  }
  // Stop the sweep at t and set the real slider there (one request); the overlay goes once
  // the server's x_t has arrived (it shows the same picture).
  function stop(t) {
    if (play.state === "playing" && t === undefined) {
      var s = sliderParts("forward-t");
      t = s && s.range ? Number(s.range.value) : play.committed;
    }
    window.cancelAnimationFrame(play.raf);
    play.state = "idle";
    buttonText("▶ Play");
    if (t === undefined || t === null) { removeOverlay(); return; }
    var img = document.querySelector("#forward-xt img"), before = img && img.src;
    var committed = play.committed;
    setSlider("forward-t", t, true);
    if (Math.round(t) === committed) { removeOverlay(); return; }
    var until = performance.now() + 4000;
    (function wait() {
      var now = document.querySelector("#forward-xt img");
      if (play.state === "playing") return;
      if ((now && now.src !== before) || performance.now() > until) { removeOverlay(); return; }
      window.setTimeout(wait, 50);
    })();
  }
  // The ▶ Play button's js: the mode sent to play_api ("play:<nonce>" fetches, "pause" not).
  function click(args) {
    if (play.state === "playing" || play.state === "loading") {
      if (play.state === "loading") { play.state = "idle"; buttonText("▶ Play"); }
      else stop();
      return ["pause"].concat(args.slice(1));
    }
    play.state = "loading";
    play.nonce = String(Date.now()) + Math.random().toString(16).slice(2);
    buttonText("… loading");
    return ["play:" + play.nonce].concat(args.slice(1));
  }
  function received(text) {
    if (play.state !== "loading") return;
    var d = null;
    try { d = JSON.parse(text); } catch (e) { d = null; }
    if (!d || d.nonce !== play.nonce) { play.state = "idle"; buttonText("▶ Play"); return; }
    (play.data && play.data.key === d.key ? Promise.resolve(play.data) : prepare(d)).then(function (ready) {
      play.data = ready;
      if (play.state === "loading") start(ready);
    }, function () { play.state = "idle"; buttonText("▶ Play"); });
  }

  // ---------------- autoplay and loop ----------------
  var loopRun = null;
  function statusText(id) { var el = $(id); return el ? el.innerText.trim() : ""; }
  function runAction(tab, looping, tries) {
    var acts = CFG.tabs[tab];
    if (!acts || !acts.run) return false;
    var run = $(acts.run);
    if (acts.open && !shown(run)) {
      // the button sits in a closed accordion (not drawn while closed): open it, press it once drawn
      var box = $(acts.open), opener = box && (box.querySelector("button.label-wrap") || box.querySelector("button"));
      // Gradio ignores a click that comes before the page is fully wired: click again every
      // 1.5 s while the box is still closed (a busy machine can take several seconds).
      var last = opener ? Number(opener.dataset.ofcOpened || 0) : 0;
      if (opener && !opener.classList.contains("open") && performance.now() - last > 1500) {
        opener.dataset.ofcOpened = String(performance.now()); opener.click();
      }
      if ((tries || 0) < 200) window.setTimeout(function () { runAction(tab, looping, (tries || 0) + 1); }, 150);
      return true;
    }
    if (!run) return false;
    if (tab === "forward") { if (play.state !== "playing") run.click(); return true; }
    var before = acts.status ? statusText(acts.status) : "";
    run.click();
    if (looping && acts.status && acts.done) watchLoop(tab, acts, before);
    return true;
  }
  function watchLoop(tab, acts, before) {
    // A run has started once the status shows anything but `before`, and is over when it
    // then says `done`. Every change is seen (a MutationObserver), not only every 300 ms
    // poll: a quick run can go from `before` through its steps to `done` between two polls.
    var me = (loopRun = { tab: tab, started: false, over: false }), done = new RegExp(acts.done, "m");
    var el = $(acts.status), watcher = el && window.MutationObserver ? new MutationObserver(look) : null;
    if (watcher) watcher.observe(el, { subtree: true, childList: true, characterData: true });
    function over() { me.over = true; if (watcher) watcher.disconnect(); return true; }
    function look() {
      if (me.over || loopRun !== me) return over();
      var text = statusText(acts.status);
      me.started = me.started || text !== before;
      if (!me.started) return false;
      if (done.test(text)) {
        window.setTimeout(function () { if (loopRun === me && currentTab() === tab) runAction(tab, true); }, CFG.loop_hold_s * 1000);
        return over();
      }
      if (/stopped|error/i.test(text)) { loopRun = null; return over(); }
      return false;
    }
    (function poll() { if (!look()) window.setTimeout(poll, 300); })();
  }
  function autoplay() {
    if (!flag(q.get("autoplay"))) return;
    var want = (q.get("tab") || "").toLowerCase();
    var until = performance.now() + 60000;
    (function attempt() {
      var tab = currentTab(), acts = CFG.tabs[tab];
      if (want && CFG.tabs[want] && tab !== want) { if (performance.now() < until) window.setTimeout(attempt, 100); return; }
      if (!acts || !acts.run) return;  // nothing to play here (the deep link's note says so)
      if (!shown($(acts.run)) && !shown($(acts.open))) { if (performance.now() < until) window.setTimeout(attempt, 100); return; }
      runAction(tab, LOOP);
    })();
  }

  // ---------------- the deep link's answer ----------------
  // It selects the link's tab when it lands: a tab picked before then (a slow first load) is
  // picked again, once Gradio has drawn the answer (a task after its own updates).
  var picked = null, linked = false;
  document.addEventListener("click", function (e) {
    var tab = !linked && e.target && e.target.closest && e.target.closest('#tabs [role="tab"]');
    if (tab) picked = tab;
  }, true);
  function linkApplied() {
    linked = true;
    window.setTimeout(function () {
      if (picked && picked.isConnected && picked.getAttribute("aria-selected") !== "true") picked.click();
      autoplay();
    }, 0);
  }

  // ---------------- keys and their help ----------------
  function helpBox() {
    var box = $("keys-help-overlay");
    if (box) return box;
    box = document.createElement("div");
    box.id = "keys-help-overlay"; box.hidden = true;
    box.setAttribute("role", "dialog"); box.setAttribute("aria-label", "Keyboard shortcuts");
    var rows = CFG.help.map(function (r) { return "<tr><td><kbd>" + r[0] + "</kbd></td><td>" + r[1] + "</td></tr>"; });
    box.innerHTML = "<div><strong>Keyboard</strong><table>" + rows.join("") +
      "</table><small>Keys are ignored while you type in a box.</small> <button type='button' id='keys-help-close'>Close</button></div>";
    box.addEventListener("click", function (e) { if (e.target === box || e.target.id === "keys-help-close") help(false); });
    document.body.appendChild(box);
    return box;
  }
  function help(open) {
    var box = helpBox();
    box.hidden = open === undefined ? !box.hidden : !open;
  }
  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable ||
      !!(el.closest && el.closest('[role="listbox"], [role="combobox"], [contenteditable="true"]'));
  }
  function notch(tab, dir) {
    var acts = CFG.tabs[tab], s = acts && acts.slider ? sliderParts(acts.slider) : null;
    if (!s || !s.range || s.range.disabled || !shown(s.range)) return false;
    if (tab === "forward" && play.state !== "idle") { if (play.state === "playing") stop(); else { play.state = "idle"; buttonText("▶ Play"); } }
    var lo = Number(s.range.min), hi = Number(s.range.max);
    var size = tab === "reverse" ? 1 : Math.max(1, Math.round((hi - lo) / CFG.notches));
    setSlider(acts.slider, Number(s.range.value) + dir * size, true);
    return true;
  }
  function escape(tab) {
    var box = $("keys-help-overlay");
    if (box && !box.hidden) { help(false); return true; }
    loopRun = null;
    if (tab === "forward" && play.state !== "idle") { if (play.state === "playing") stop(); else { play.state = "idle"; buttonText("▶ Play"); } return true; }
    var acts = CFG.tabs[tab], stopBtn = acts && acts.stop ? $(acts.stop) : null;
    if (shown(stopBtn)) { stopBtn.click(); return true; }
    return false;
  }
  var swallowSpaceUp = false;
  function onKey(e) {
    if (e.ctrlKey || e.altKey || e.metaKey || e.defaultPrevented || typing(e.target)) return;
    var tab = currentTab(), handled = false;
    if (e.key === "?") { help(); handled = true; }
    else if (e.key === "Escape") handled = escape(tab);
    else if (e.key === "ArrowRight" || e.key === "ArrowLeft") handled = notch(tab, e.key === "ArrowRight" ? 1 : -1);
    else if (e.key === " " || e.key === "Spacebar") {
      var toggle = tab === "forward" ? $("forward-play") : null;  // Space plays and pauses
      if (toggle && !e.repeat) toggle.click();
      handled = !e.repeat && (toggle ? true : runAction(tab, false));
      if (handled) swallowSpaceUp = true;
    }
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  }
  function onKeyUp(e) {
    // a focused button would click itself on Space's key-up: the key already did its job
    if ((e.key === " " || e.key === "Spacebar") && swallowSpaceUp) { swallowSpaceUp = false; e.preventDefault(); }
  }
  function setup() {
    if (!$("keys-help")) {
      var b = document.createElement("button");
      b.id = "keys-help"; b.type = "button"; b.textContent = "?";
      b.title = "Keyboard shortcuts (?)"; b.setAttribute("aria-label", "Keyboard shortcuts");
      b.addEventListener("click", function () { help(); });
      document.body.appendChild(b);
    }
    helpBox();
  }
  // grabbing the t slider during a sweep pauses it there (the drag then goes on as usual)
  document.addEventListener("pointerdown", function (e) {
    if (play.state === "playing" && e.target && e.target.closest && e.target.closest("#forward-t")) stop();
  }, true);
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", onKeyUp, true);
  if (document.body) setup(); else document.addEventListener("DOMContentLoaded", setup);
  window.ofcKeys = { linkApplied: linkApplied, click: click, received: received, stop: stop, help: help, pixels: pixels,
    state: function () { return play.state; } };
})();
