"""JSON as Azure's tools read templates (N17.1): comments and raw line breaks in strings, with
the file's own line numbers in errors and a clear error for hostile nesting."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fabric.io import InputError, load_topology
from fabric.io.jsonc import MAX_DEPTH, JsoncError, loads, looks_like_json, strip_comments


def test_line_and_block_comments_are_removed():
    text = """// a template
    {
      /* the parameters
         come first */
      "a": 1, // trailing
      "b": [1, /* inline */ 2]
    }"""
    assert loads(text) == {"a": 1, "b": [1, 2]}


def test_comment_markers_inside_strings_are_text():
    text = '{"uri": "https://example.com//x", "c": "/* not a comment */", "q": "a\\"//b"}'
    assert loads(text) == {
        "uri": "https://example.com//x",
        "c": "/* not a comment */",
        "q": 'a"//b',
    }


def test_raw_line_breaks_inside_strings_are_kept():
    assert loads('{"v": "[if(\n  true(),\n  1, 2)]"}') == {"v": "[if(\n  true(),\n  1, 2)]"}


def test_errors_carry_the_line_of_the_file_despite_comments():
    text = '{\n  /* one\n     two */\n  "a": 1,\n  "b": \n}'
    with pytest.raises(JsoncError) as caught:
        loads(text)
    assert caught.value.line == 6


def test_an_unclosed_block_comment_is_named_with_its_line():
    with pytest.raises(JsoncError, match="never closed") as caught:
        loads('{\n  "a": 1\n  /* forgot')
    assert caught.value.line == 3


def test_deep_nesting_is_a_clear_error_not_a_recursion_error():
    with pytest.raises(JsoncError, match=f"deeper than {MAX_DEPTH}"):
        loads("[" * 100_000 + "]" * 100_000)


def test_blanked_comments_keep_length_and_line_breaks():
    text = "// x\n{/* a\nb */}"
    cleaned = strip_comments(text)
    assert len(cleaned) == len(text)
    assert cleaned.count("\n") == text.count("\n")


def test_json_detection_skips_leading_comments():
    assert looks_like_json("// note\n/* more */\n  {")
    assert not looks_like_json("vnets:\n  - name: a")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
)


@given(JSON_VALUES)
def test_plain_json_reads_as_the_standard_parser_reads_it(value):
    text = json.dumps(value)
    assert loads(text) == json.loads(text)


@given(st.text(max_size=40))
def test_any_text_is_read_or_refused_with_a_jsonc_error(text):
    line = 1
    try:
        loads(text)
    except JsoncError as problem:
        line = problem.line
    assert line >= 1


def test_a_template_file_with_comments_loads_and_a_broken_one_names_its_line(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(
        '// comment first\n{"resources": [ /* none */ ], "$schema": "https://x/deploymentTemplate.json#"}'
    )
    assert load_topology(good).source_format == "arm"
    bad = tmp_path / "bad.json"
    bad.write_text('// c\n{\n  "resources": [\n    {"type": }\n  ]\n}')
    with pytest.raises(InputError) as caught:
        load_topology(bad)
    assert f"{bad}:4:" in caught.value.render()
    assert "not valid JSON" in caught.value.render()


def test_deeply_nested_yaml_is_an_input_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(InputError):
        load_topology(path)
