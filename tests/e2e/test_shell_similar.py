"""The shell demo of similar initiatives: two units plan to buy a scheduling tool, and the
liaison (of both units, in the example organisation) is told of the one need planned twice."""

from __future__ import annotations

from tests.e2e.test_shell import run_cli

TWO_UNITS = "\n".join(
    [
        "/in #finance",
        "We're buying a scheduling tool for staff shifts",
        "1",
        "1",
        "in three months",
        "me",
        "When I Work",
        "skip",
        "skip",
        "ok",
        "save",
        "/as @kim",
        "/in #parks",
        "We're buying scheduling software for the summer crews",
        "1",
        "1",
        "in four months",
        "me",
        "When I Work",
        "skip",
        "skip",
        "ok",
        "save",
        "/as @sam",
        "commitments initiative 1",
        "/quit",
        "",
    ]
)


def test_two_units_buying_a_scheduling_tool_are_pointed_at_each_other(tmp_path):
    result = run_cli(["shell", "--as", "pat"], tmp_path, TWO_UNITS)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Saved initiative #2: We're buying scheduling software for the summer crews." in out
    told = [line for line in out.splitlines() if "looks like the same need as" in line]
    assert len(told) == 1, out[-3000:]
    assert told[0].startswith("bot → DM to @sam: Finance's #1 “We're buying a scheduling tool")
    assert "Parks and Recreation's #2 “We're buying scheduling software" in told[0]
    assert "Link them" in out
