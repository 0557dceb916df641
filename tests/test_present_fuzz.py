"""Hostile input for draw, report and cost: random bytes and documents near the native schema
end in exit 0, 1 or 2 with strict JSON under ``--json``, never a traceback."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from fabric.io.native import document_schema
from tests.test_cli_fuzz import FUZZ, check_outcome, near


def commands(tmp_path) -> list[list[str]]:
    return [
        ["draw", "-o", str(tmp_path / "out.mmd")],
        ["draw", "-o", str(tmp_path / "out.dot"), "--highlight", "10.0.0.4", "10.1.0.4"],
        ["cost"],
        ["cost", "--gb-per-month", "10"],
    ]


@FUZZ
@given(document=near(document_schema()), which=st.integers(0, 3), raw=st.binary(max_size=60))
def test_documents_near_the_schema(capsys, tmp_path, document, which, raw):
    name, *options = commands(tmp_path)[which]
    source = tmp_path / "input.yaml"
    source.write_text(yaml.safe_dump(document))
    check_outcome(capsys, [name, str(source), *options])
    source.write_bytes(raw)
    check_outcome(capsys, [name, str(source), *options])
