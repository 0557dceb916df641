"""The README's console examples run as shown (the docs' runner: exit codes, and output line by
line with numbers and spacing ignored), and its first lines are the two promised commands."""

from __future__ import annotations

from pathlib import Path

from tests.test_docs import check_console

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_run_as_shown(tmp_path, monkeypatch):
    check_console("../README.md", tmp_path, monkeypatch)


def test_readme_opens_with_the_demo_and_the_test_command():
    lines = README.read_text().splitlines()
    assert lines[2] == "```sh"
    assert lines[3].endswith(".venv/bin/vnetsim run")
    assert lines[4].endswith(".venv/bin/python -m pytest -q")
