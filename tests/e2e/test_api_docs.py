"""docs/api.md's endpoint table says what the running app's API page says (`view_api`): the
same endpoints, each with the same parameters in the same order, the same defaults (or none,
for a required parameter) and as many outputs, the unlabelled ones by their kind."""

from __future__ import annotations

import ast
import re

import pytest

from .helpers import ROOT

pytestmark = pytest.mark.e2e

API_MD = ROOT / "docs" / "api.md"
ROW = re.compile(r"^\| `(/\w+)` \| (.*) \| (.*) \|$", re.M)
# A parameter in the table: `name`, then `=default` (a Python literal or "(a description)").
PARAM = re.compile(r"(?:^|, )`(\w+)`(=\([^)]*\)|=[^,]*)?")
# What view_api calls an output without a label, and what the table calls it.
KINDS = {"Markdown": "Markdown", "Json": "JSON"}


def documented() -> dict[str, tuple[list[tuple[str, str | None]], list[str]]]:
    """{endpoint: ([(parameter, default text or None)], [outputs])} from the table."""
    table = {}
    for name, params, returns in ROW.findall(API_MD.read_text(encoding="utf-8")):
        found = [(p, d[1:] if d else None) for p, d in PARAM.findall(params)]
        table[name] = (found, [r.strip() for r in returns.split(", ")])
    return table


def same_default(text: str, actual: object) -> bool:
    """A literal must equal the default; a description "(…)" stands for a value too long to
    write (a canvas, seven points), never for None or a short literal."""
    if text.startswith("("):
        return actual is not None and (isinstance(actual, dict) or len(repr(actual)) > 40)
    return ast.literal_eval(text) == actual


def test_the_endpoint_table_matches_view_api(endpoints):
    table, problems = documented(), []
    missing = sorted(set(endpoints) - set(table))
    extra = sorted(set(table) - set(endpoints))
    if missing or extra:
        problems.append(f"not in the table: {missing}; in the table only: {extra}")
    for name in sorted(set(table) & set(endpoints)):
        params, returns = table[name]
        actual = endpoints[name]["parameters"]
        if [p for p, _ in params] != [a["parameter_name"] for a in actual]:
            problems.append(
                f"{name}: parameters {[p for p, _ in params]} != {[a['parameter_name'] for a in actual]}"
            )
            continue
        for (param, text), a in zip(params, actual, strict=True):
            has = a.get("parameter_has_default", False)
            if (text is not None) != has:
                problems.append(f"{name} {param}: documented {'with' if text else 'without'} a default")
            elif has and not same_default(text, a.get("parameter_default")):
                problems.append(f"{name} {param}: documented ={text}, is {a.get('parameter_default')!r:.60}")
        outputs = endpoints[name]["returns"]
        if len(returns) != len(outputs):
            problems.append(f"{name}: {len(returns)} outputs documented, {len(outputs)} returned")
            continue
        for shown, out in zip(returns, outputs, strict=True):
            kind = KINDS.get(out.get("component"))
            if str(out.get("label", "")).startswith("value_") and kind and shown != kind:
                problems.append(f"{name}: an output documented as {shown!r} is {kind}")
    assert not problems, "\n".join(problems)
