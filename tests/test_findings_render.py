"""The one findings vocabulary and renderer: grouping by root cause, the exit rule, the text
and JSON forms that doctor, verify, admin and the conda plugin all print."""

from __future__ import annotations

import io
import json
from pathlib import Path, PurePosixPath

from condashare.conda_plugin import format_findings
from condashare.errors import CondashareError, ExitCode
from condashare.findings import DEAD_SHARE, Finding, Group, Severity, exit_code_for, group_by_cause
from condashare.render import Output, finding_lines, json_text, to_jsonable

MNT = "/mnt/cpkgs"
DEAD = Finding(
    "mount.responsive",
    Severity.ERROR,
    f"installation linux: {MNT}/anaconda3 does not answer",
    "The file server is down.",
    "Wait for the server or ask your administrators",
    data={DEAD_SHARE: MNT, "path": f"{MNT}/anaconda3"},
)
ON_IT = Finding("condarc.parse", Severity.WARNING, f"{MNT}/anaconda3/.condarc does not answer")
SLOW_SHELL = Finding(
    "startup.start_time",
    Severity.WARNING,
    "interactive bash takes 2.2 s",
    fix="Replace conda init by condashare init",
)
ELSEWHERE = Finding(
    "space.free", Severity.WARNING, "/mnt/cpkgs2 is full", data={"path": "/mnt/cpkgs2"}
)
HEALTHY = Finding("host.platform", Severity.OK, "platform linux-x86_64")


def timing(f: Finding) -> bool:
    return f.check == "startup.start_time"


def test_consequences_fold_under_the_dead_share_and_others_stay_on_top() -> None:
    groups = group_by_cause([HEALTHY, ON_IT, DEAD, SLOW_SHELL, ELSEWHERE, ON_IT], timing)
    assert [g.root for g in groups] == [HEALTHY, DEAD, ELSEWHERE]
    # the repeat is said once; a path on a sibling mount (/mnt/cpkgs2) is not on the dead one
    assert groups[1].consequences == (ON_IT, SLOW_SHELL)


def test_without_a_dead_share_nothing_is_folded() -> None:
    groups = group_by_cause([ON_IT, SLOW_SHELL], timing)
    assert groups == [Group(ON_IT), Group(SLOW_SHELL)]


def test_text_shows_the_root_fix_and_no_fix_of_a_consequence() -> None:
    stream = io.StringIO()
    out = Output("never", stdout=stream)
    out.findings(finding_lines(group_by_cause([DEAD, SLOW_SHELL], timing), details="none"))
    assert stream.getvalue().splitlines() == [
        f"[x] installation linux: {MNT}/anaconda3 does not answer",
        "    fix: Wait for the server or ask your administrators",
        "    because of this, 1 more finding:",
        "    [!] interactive bash takes 2.2 s",
    ]


def test_multi_line_fix_continues_under_its_first_line_and_is_a_list_in_json() -> None:
    f = Finding("x", Severity.ERROR, "broken", fix="first step\n\nconda clean --all\n")
    lines = [(item.indent, item.label, item.text) for item in finding_lines([Group(f)])]
    assert lines[1:] == [(4, "fix: ", "first step"), (9, "", ""), (9, "", "conda clean --all")]
    doc = json.loads(json_text(to_jsonable({"f": f, "g": Group(DEAD, (ON_IT,))})))
    assert doc["f"]["fix_commands"] == ["first step", "conda clean --all"]
    assert doc["f"]["check"] == "x" and doc["f"]["code"] == "x"
    assert [c["title"] for c in doc["g"]["consequences"]] == [ON_IT.title]


def test_paths_in_json_output_are_their_text() -> None:
    """``--json`` writes a pathlib path as its text, in mappings and lists alike."""
    doc = json.loads(
        json_text(to_jsonable({"prefix": Path("/opt/x"), "more": [PurePosixPath("y")]}))
    )
    assert doc == {"prefix": "/opt/x", "more": ["y"]}


def test_conda_plugin_draws_the_same_listing_with_condas_marks() -> None:
    lines = format_findings("condashare-nfs", [DEAD, ON_IT, HEALTHY], verbose=False)
    assert lines == [
        f"❌ condashare-nfs: installation linux: {MNT}/anaconda3 does not answer",
        "    The file server is down.",
        "    fix: Wait for the server or ask your administrators",
        "    because of this, 1 more finding:",
        f"    ❌ condashare-nfs: {MNT}/anaconda3/.condarc does not answer (warning)",
        "✅ condashare-nfs: platform linux-x86_64",  # one pass: shown (more fold into one line)
        "",
    ]


def test_untrusted_text_in_a_consequence_cannot_act_on_the_terminal() -> None:
    evil = Finding("condarc.parse", Severity.WARNING, f"{MNT}/envs/evil\x1b]0;TITLE\x07 broken")
    stream = io.StringIO()
    Output("never", stdout=stream).findings(finding_lines(group_by_cause([DEAD, evil])))
    assert "\x1b" not in stream.getvalue() and "\\x1b]0;TITLE\\x07" in stream.getvalue()


def test_one_exit_rule() -> None:
    assert exit_code_for([HEALTHY]) == ExitCode.OK
    assert exit_code_for([HEALTHY, ON_IT]) == ExitCode.PROBLEMS
    assert exit_code_for([ON_IT], incomplete=True) == ExitCode.INCOMPLETE
    assert exit_code_for([ON_IT], usage=True, incomplete=True) == ExitCode.USAGE
    assert exit_code_for([ON_IT], problems=False) == ExitCode.OK  # repaired by a fix


def test_every_user_error_carries_its_exit_code() -> None:
    from condashare.conda.condarc import CondarcError
    from condashare.files.write import EditError, EditUnresponsive
    from condashare.host.detect import PlatformError
    from condashare.site.file import SiteError
    from condashare.startup import StartupError

    assert CondarcError("/f", 3, "bad").exit_code == ExitCode.USAGE
    assert EditUnresponsive("/f", "no answer").exit_code == ExitCode.INCOMPLETE
    assert SiteError("/s", None, "dead", ExitCode.INCOMPLETE).exit_code == ExitCode.INCOMPLETE
    for exc in (EditError("/f", "x"), StartupError("/f", "x"), PlatformError("x")):
        assert isinstance(exc, CondashareError) and exc.exit_code == ExitCode.USAGE
