"""Lecture mode's scene lists: the shipped default, the loader's refusals (each with a
message a lecturer can act on), and how a lecture URL becomes the scene's deep link."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qsl

import gradio as gr
import pytest

from diffusion_demo.ui import lecture
from diffusion_demo.ui.deeplinks.params import Param
from diffusion_demo.ui.deeplinks.parse import parse
from diffusion_demo.ui.deeplinks.wire import on_load
from diffusion_demo.ui.lecture import LectureError

BLOG_ORDER = [
    "forward",
    "schedule",
    "forward",
    "reverse",
    "roundtrip",
    "toy2d",
    "roundtrip",
    "reverse",
    "inpaint",
]


@pytest.fixture(autouse=True)
def started_in(tmp_path, monkeypatch):
    """The app "started" in this test's folder: ?lecture=<path> reads files inside it."""
    monkeypatch.setattr(lecture, "START_DIR", tmp_path)
    return tmp_path


def write(tmp_path, data, name="talk.json") -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


SCENE = {"title": "One", "query": "tab=forward&t=10", "caption": "look here"}


def test_the_default_list_follows_the_blog():
    assert "default" in lecture.names()
    assert (lecture.SCENES_DIR / "default.json").is_file()  # found next to the module, not via cwd
    scenes = lecture.load("1")
    assert scenes.scenes == lecture.load("default").scenes == lecture.load("true").scenes
    assert [s.tab for s in scenes.scenes] == BLOG_ORDER
    assert all(s.title and s.caption and "\n" not in s.caption for s in scenes.scenes)
    assert len({s.query for s in scenes.scenes}) == len(scenes.scenes)


@pytest.fixture(scope="module")
def real_links():
    from diffusion_demo.ui import build_demo

    return build_demo(denoiser=None, checkpoint_error="no model in this test").deeplinks


@pytest.mark.slow
def test_every_default_scene_is_a_clean_deep_link(real_links):
    scenes = lecture.load("1")
    assert lecture.check_queries(scenes, real_links.params, real_links.tabs) == []
    for scene in scenes.scenes:
        parsed = parse(scene.items, real_links.params, real_links.tabs)
        assert parsed.tab == scene.tab and len(parsed.values) >= 2, scene.query
    # ...and the checker does report a bad value
    bad = lecture.from_data([{**SCENE, "query": "tab=forward&t=99999"}], "bad")
    assert lecture.check_queries(bad, real_links.params, real_links.tabs)[0].startswith("scene 1: t=99999")


@pytest.mark.slow
def test_the_load_event_opens_the_scene_under_the_urls_own_parameters(real_links):
    out = on_load(real_links, SimpleNamespace(query_params={"lecture": "1", "scene": "4"}))
    assert isinstance(out[0], gr.Tabs) and out[0].selected == "reverse"
    updates = dict(zip(real_links.components, out[2 : 2 + len(real_links.components)], strict=True))
    assert updates["reverse_seed"]["value"] == 5 and updates["steps"]["value"] == 50
    out = on_load(real_links, SimpleNamespace(query_params={"lecture": "1", "tab": "schedule"}))
    assert out[0].selected == "schedule"  # the URL's own parameters win over the scene's


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nope", 'no scene list named "nope"; known: default'),
        ("no/such/file.json", "not found: no/such/file.json"),
        ("talk.txt", "expected 1, a scene-list name or the path of a .json file"),
    ],
)
def test_unknown_names_and_paths_are_refused_clearly(value, message):
    with pytest.raises(LectureError) as err:
        lecture.load(value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"scenes": [\n  {"title": "a",}\n]}', "talk.json is not valid JSON (line 2, column"),
        ({"scenes": []}, "expected a list of scenes"),
        ({"title": "x"}, "expected a list of scenes"),
        (
            [SCENE, {**SCENE, "query": "tab=nowhere&t=3"}],
            "scene 2 query: tab=nowhere (expected one of forward,",
        ),
        ([{**SCENE, "query": "t=3"}], "scene 1 query: tab=(missing)"),
        ([{**SCENE, "query": "tab=forward&t"}], 'scene 1 query: not a deep link ("name=value&name=value")'),
        ([{**SCENE, "query": "tab=forward&scene=2"}], "scene 1 query: scene cannot be part of a scene"),
        ([{**SCENE, "caption": ""}], "scene 1 caption: expected a non-empty string"),
        ([{**SCENE, "notes": "x"}], "scene 1: unknown field(s) notes"),
        (["tab=forward"], 'scene 1: expected an object with "title", "query" and "caption"'),
        ([{**SCENE, "caption": "x" * 301}], "scene 1 caption: longer than 300 characters"),
    ],
)
def test_malformed_lists_are_refused_with_where_and_why(tmp_path, data, message):
    with pytest.raises(LectureError) as err:
        lecture.load(write(tmp_path, data))
    assert message in str(err.value)


def test_a_list_on_a_path_loads_and_a_bare_list_works(tmp_path):
    path = write(tmp_path, [SCENE, {**SCENE, "query": "?tab=reverse&seed=4", "title": "Two"}])
    scenes = lecture.load(path)
    assert [s.tab for s in scenes.scenes] == ["forward", "reverse"]
    assert scenes.scenes[1].items == [("tab", "reverse"), ("seed", "4")]  # a leading "?" is fine


def test_big_and_binary_files_are_refused_unread(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(" " * 70_000 + "[]")
    with pytest.raises(LectureError, match="larger than 64 kB"):
        lecture.load(str(big))
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00[")
    with pytest.raises(LectureError, match="not UTF-8 text"):
        lecture.load(str(binary))


def test_a_lecture_url_becomes_the_scene_and_its_neighbours():
    current, warnings = lecture.resolve(parse_qsl("lecture=1&scene=3&projector=1&t=5"))
    assert warnings == [] and current.index == 3 and current.scene.title.startswith("T → ∞")
    nav = current.nav()
    assert (nav["index"], nav["count"]) == (3, 9)
    nxt = dict(parse_qsl(nav["next"].lstrip("?")))
    assert nxt == {**dict(current.scenes.scenes[3].items), "lecture": "1", "scene": "4", "projector": "1"}
    assert dict(parse_qsl(nav["prev"].lstrip("?")))["scene"] == "2"
    leave = dict(parse_qsl(nav["exit"].lstrip("?")))
    assert "lecture" not in leave and "scene" not in leave and leave["tab"] == "forward"
    first, _ = lecture.resolve([("lecture", "1")])
    last, _ = lecture.resolve([("lecture", "1"), ("scene", "9")])
    assert first.index == 1 and first.nav()["prev"] is None
    assert last.nav()["next"] is None and last.nav()["prev"] is not None


def test_expand_puts_the_scene_before_the_urls_own_parameters():
    items, warnings = lecture.expand(parse_qsl("lecture=1&scene=1&t=5&embed=1"))
    assert warnings == []
    assert items[0] == ("tab", "forward") and items[-2:] == [("t", "5"), ("embed", "1")]
    assert not {"lecture", "scene"} & {k for k, _ in items}
    assert dict(items)["t"] == "5"  # the parser keeps a repeated name's last value


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ("lecture=1&scene=12", "scene=12 (expected a whole number in [1, 9]; showing scene 1)"),
        ("lecture=1&scene=two", "scene=two (expected a whole number in [1, 9]; showing scene 1)"),
        ("scene=2", "scene=2 (only with lecture)"),
        ("lecture=nope", 'lecture=nope (no scene list named "nope"; known: default'),
        ("lecture=" + "x" * 400, "lecture=xxxxxxxxx"),
    ],
)
def test_bad_lecture_parameters_become_warnings(query, warning):
    current, warnings = lecture.resolve(parse_qsl(query))
    assert len(warnings) == 1 and warnings[0].startswith(warning)
    assert (current is not None) == query.startswith("lecture=1")
    if current is not None:
        assert current.index == 1


def test_lecture_off_and_absent_are_silent():
    assert lecture.resolve([("lecture", "0")]) == (None, [])
    assert lecture.resolve([("tab", "reverse")]) == (None, [])
    assert lecture.expand([("tab", "reverse"), ("lecture", "off")]) == ([("tab", "reverse")], [])


def test_the_parser_skips_the_lecture_parameters():
    params = {"t": Param("t", "int", "forward", 0, 1000)}
    parsed = parse(parse_qsl("lecture=1&scene=2&t=3"), params, ["forward"])
    assert parsed.warnings == [] and parsed.values == {"t": 3}


def test_the_bar_shows_the_scene_as_plain_text():
    caption, counter, prev, nxt, nav = lecture.on_load(
        SimpleNamespace(query_params={"lecture": "1", "scene": "8"})
    )
    assert caption.startswith("<strong>Guidance</strong> — ") and "ε̂_y" in caption
    assert counter == "8 / 9"
    assert prev.interactive is True and nxt.interactive is True
    assert json.loads(nav)["next"].endswith("lecture=1&scene=9")
    off = lecture.on_load(SimpleNamespace(query_params={"lecture": "nope"}))
    assert off[:2] == ("", "") and off[2].interactive is False and off[4] == "{}"


def test_captions_are_escaped(tmp_path):
    path = write(tmp_path, [{**SCENE, "caption": "<img src=x onerror=alert(1)> & x_t"}])
    caption = lecture.on_load(SimpleNamespace(query_params={"lecture": path}))[0]
    assert "<img" not in caption and "&lt;img src=x onerror=alert(1)&gt; &amp; x_t" in caption


def test_a_shared_space_accepts_names_but_no_paths(tmp_path, monkeypatch):
    """On Hugging Face Spaces (SPACE_ID set) a visitor's link must not make the server read files."""
    path = write(tmp_path, [SCENE])
    assert lecture.load(path).scenes  # on the lecturer's own machine a path works
    monkeypatch.setenv("SPACE_ID", "someone/order-from-chaos")
    with pytest.raises(lecture.LectureError, match="only the shipped scene lists can be named"):
        lecture.load(path)
    assert lecture.load("default").scenes  # names still work


def test_paths_outside_the_start_folder_are_not_found_like_missing_ones(tmp_path, tmp_path_factory):
    """?lecture=<path> reads only inside the folder the app started in (or scenes/): a file
    elsewhere, reached directly, by `..` or through a link, gets the words a missing one gets."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    outside = write(elsewhere, [SCENE])
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.json").symlink_to(outside)
    inside = write(tmp_path / "sub", [SCENE])
    assert lecture.load(inside).scenes and lecture.load("sub/talk.json").scenes  # absolute or relative
    for value in (outside, "../" + Path(outside).parent.name + "/talk.json", "sub/../../x.json", "link.json"):
        with pytest.raises(LectureError) as err:
            lecture.load(value)
        assert str(err.value) == f"not found: {value}"
    for value in ("/etc/passwd.json", "/no/such/talk.json", "/etc/../etc/hostname.json"):
        with pytest.raises(LectureError) as err:
            lecture.load(value)
        assert str(err.value) == f"not found: {value}"
    current, warnings = lecture.resolve([("lecture", outside)])
    assert current is None and len(warnings) == 1 and warnings[0].endswith(f"(not found: {outside})")
