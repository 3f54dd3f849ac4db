"""The shell demo of a role changed on a saved initiative: the liaison names someone Consulted
on the security review and drops a role; `commitments initiative 1` shows both, in the roles
and in the history."""

from __future__ import annotations

from tests.e2e.test_shell import run_cli

SAVE_THEN_EDIT = "\n".join(
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
        "/as @sam",
        "commitments initiative 1 role security consulted @dana",
        "commitments initiative 1 role implementation none",
        "commitments initiative 1 role security consulted @dana",
        "commitments initiative 1",
        "/quit",
        "",
    ]
)


def test_a_liaison_changes_the_roles_of_a_saved_initiative_in_the_shell(tmp_path):
    result = run_cli(["shell", "--as", "pat"], tmp_path, SAVE_THEN_EDIT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Changed the role “Security review” of #1: R: IT @sam · A: IT @sam" in out
    assert "Changed the role “Implementation” of #1: R: vendor" in out
    assert "“Security review” of #1 already stands like that." in out
    shown = out[out.rindex("Initiative #1") :]
    assert (
        "Security review — R: IT @sam · A: IT @sam · S: vendor · C: business @pat · C: IT @dana"
        in shown
    )
    assert "Implementation —" not in shown
    history = [line for line in shown.splitlines() if "@sam changed the role:" in line]
    assert len(history) == 2 and "→ Implementation: none" in history[1]
