"""`main.py propagate` under bad input and faults: the table in tests/core/bad_input_cases.py, one case per row.

Each row asserts the exit status, the one `error:` line (or the `note:` line), that no traceback is printed, and
that every file that existed before the run (frames, masks, weights, earlier outputs) is byte-identical afterwards,
except those the row lets the run replace; a refused run leaves no new file or folder behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import main
from tests.core.bad_input_cases import CASES, DOC, Case, Kit, render, snapshot
from tests.core.tiny import tiny_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("weights") / "tiny.pth")


def _run(argv: list[str]) -> int:
    return main.main([str(a) for a in argv])


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_row(case: Case, tmp_path: Path, weights: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    kit = Kit(tmp_path, weights, monkeypatch, _run)
    argv = case.build(kit)
    capsys.readouterr()
    before, weights_before = snapshot(tmp_path), weights.read_bytes()
    code = _run(argv)
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err and "weights_only=False" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    if case.code:
        assert len(errors) == 1 and errors[0].startswith("error: "), err  # one line, never glued to the bar
        assert case.message in errors[0], errors[0]
    else:
        assert not errors, err
        if case.message:
            assert any(line.startswith("note: ") and case.message in line for line in err.splitlines()), err
    after = snapshot(tmp_path)
    for path, content in before.items():
        if path not in case.changes:
            assert after.get(path, "gone") == content, f"{path} changed or vanished"
    if case.code and not case.partial:
        assert sorted(after) == sorted(before), "a refused run left files or folders behind"
    assert weights.read_bytes() == weights_before
    if case.check is not None:
        case.check(tmp_path)


def test_every_issue_item_has_a_row() -> None:
    items = {c.item for c in CASES}
    assert {"1", "2", "4", "5", "6", "7", "8", "9", "10", "ok"} <= items  # 3 is the app's: tests/app
    assert len({c.id for c in CASES}) == len(CASES)


def test_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), "run: python -m tests.core.bad_input_cases"


def test_app_and_training_rows_name_tests_that_exist() -> None:
    import re

    from tests.core.bad_input_cases import ELSEWHERE

    tests = Path(__file__).resolve().parents[1]
    source = (tests / "app" / "test_bad_input.py").read_text() + (tests / "training" / "test_bad_input.py").read_text()
    named = re.findall(r"(test_\w+?)(?:…|`)", "\n".join(ELSEWHERE))
    assert named and all(f"def {name}" in source for name in named), named
