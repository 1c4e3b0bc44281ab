"""Deep links: the URL query restores a view, so a slide can open exactly the prepared state.

    /?tab=forward&t=617&schedule=cosine&seed=3

Modules: params (the table PARAMETERS_MD, the naming rules, `Param`; pure data), parse (the
parser; no Gradio), wire (the Gradio side: components -> Params, the load event, the share
bar). Import each name from its module. More examples and how it works: the comment below.

May import: gradio, config, checks, diffusion.schedules, ui.common and ui.runtime.
"""

#     /?tab=reverse&sampler=ddim&steps=37&seed=5
#     /?tab=roundtrip&t=300&example=digit-7&embed=1&theme=dark
#
# How it works: `wire()` (called at the end of build_demo) adds one `demo.load` event whose
# handler reads `gr.Request.query_params`, checks every value against the component it
# sets (its range, step, choices) and returns `gr.Tabs(selected=…)` plus one update per
# component (`gr.skip()` for absent parameters). Invalid or unknown values are ignored with
# one `gr.Warning` that lists them; the page never fails because of its URL.
#
# Names: the tabs register their linkable components in `UIContext.links` ("t", "seed",
# "reverse_seed", "roundtrip_t", "toy_dataset", …). Every registered name works in a URL as
# is. The short names (t, seed, example, sampler, steps, …) are read relative to `tab`: with
# ?tab=roundtrip, `t` sets roundtrip_t; with ?tab=reverse, `seed` sets reverse_seed (rule:
# the tab's prefixed name first, then the tab's own unprefixed one). The schedule lab shares
# the forward tab's t (the two sliders are kept equal in the browser).
#
# `lecture` and `scene` (lecture mode) are read by ui.lecture, which hands the parser the
# scene's own query followed by the URL's (`Links.expand`); the parser only skips them.
#
# `embed`, `theme`, `projector`, `autoplay` and `loop` are read in the browser (theme.HEAD,
# keys.HEAD); the server only checks their values. The "Copy link to this view" button builds the
# same kind of URL from the current values (see `copy_link_js`).
#
# The table (params.PARAMETERS_MD) is the user documentation; docs/deeplinks.md and the
# README copy it, and a test checks that every registered link name appears in it.
