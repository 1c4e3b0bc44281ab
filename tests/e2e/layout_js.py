"""The page measurements of test_layout.py, as JavaScript run in Chromium (page.evaluate)."""

from __future__ import annotations

# Every image shown on the page (gr.Image: a `.block` with an <img>; not the sketchpads): the
# box the picture itself is drawn in, from the <img>'s content box and its natural size under
# its object-fit (contain / scale-down / cover / fill / none, centred as object-position 50% 50%),
# and the boxes of the block's label and buttons, drawn or not (they show under the pointer).
IMAGES = """() => {
  const px = (v) => parseFloat(v) || 0;
  const box = (r) => ({ l: r.left, t: r.top, r: r.right, b: r.bottom });
  const shown = (e) => { const r = e.getBoundingClientRect(), st = getComputedStyle(e);
    return r.width > 0 && r.height > 0 && st.display !== 'none' && st.visibility !== 'hidden'; };
  const drawn = (img) => {
    const r = img.getBoundingClientRect(), st = getComputedStyle(img);
    const l = r.left + px(st.borderLeftWidth) + px(st.paddingLeft);
    const t = r.top + px(st.borderTopWidth) + px(st.paddingTop);
    const w = r.right - px(st.borderRightWidth) - px(st.paddingRight) - l;
    const h = r.bottom - px(st.borderBottomWidth) - px(st.paddingBottom) - t;
    const nw = img.naturalWidth, nh = img.naturalHeight;
    let sx = w / nw, sy = h / nh;
    const fit = st.objectFit;
    if (fit === 'contain') sx = sy = Math.min(sx, sy);
    else if (fit === 'scale-down') sx = sy = Math.min(1, sx, sy);
    else if (fit === 'cover') sx = sy = Math.max(sx, sy);
    else if (fit === 'none') sx = sy = 1;
    const dw = nw * sx, dh = nh * sy, x = l + (w - dw) / 2, y = t + (h - dh) / 2;
    // what is drawn stays inside the <img> element (cover and none crop)
    return { l: Math.max(x, l), t: Math.max(y, t), r: Math.min(x + dw, l + w), b: Math.min(y + dh, t + h),
             fit, position: st.objectPosition };
  };
  const out = [];
  for (const img of document.querySelectorAll('.gradio-container .block img')) {
    const block = img.closest('.block');
    if (block.closest('.sketch') || !shown(img) || !img.complete || !img.naturalWidth) continue;
    const id = block.id || (block.closest('[id]') || {}).id || '?';
    const extras = [];
    for (const e of block.querySelectorAll('label[data-testid="block-label"], .icon-button-wrapper')) {
      if (!shown(e)) continue;
      extras.push({ what: e.tagName === 'LABEL' ? 'label ' + JSON.stringify(e.textContent.trim())
                                                 : 'buttons', box: box(e.getBoundingClientRect()) });
    }
    out.push({ id, picture: drawn(img), block: box(block.getBoundingClientRect()), extras,
               natural: [img.naturalWidth, img.naturalHeight] });
  }
  return out;
}"""

# A status line's text: the boxes of its lines (a Range over its text), the box that clips it
# (the element and its ancestors up to the tab panel with overflow other than visible), and the
# viewport.
STATUS = """(id) => {
  const el = document.getElementById(id);
  if (!el) return null;
  const range = document.createRange();
  range.selectNodeContents(el);
  const lines = [...range.getClientRects()].filter((r) => r.width > 0.5 && r.height > 0.5)
    .map((r) => ({ l: r.left, t: r.top, r: r.right, b: r.bottom }));
  let clip = { l: -Infinity, t: -Infinity, r: Infinity, b: Infinity };
  for (let e = el; e && e !== document.body; e = e.parentElement) {
    const st = getComputedStyle(e);
    if (st.overflowX !== 'visible' || st.overflowY !== 'visible') {
      const r = e.getBoundingClientRect();
      clip = { l: Math.max(clip.l, r.left), t: Math.max(clip.t, r.top),
               r: Math.min(clip.r, r.right), b: Math.min(clip.b, r.bottom) };
    }
  }
  return { text: el.innerText.trim(), lines, clip, width: innerWidth, height: innerHeight,
           ellipsis: [el, ...el.querySelectorAll('*')].some((e) => getComputedStyle(e).textOverflow === 'ellipsis'
                                                            && e.scrollWidth > e.clientWidth + 1) };
}"""
