"""JSON as Azure's tools read ARM templates and parameter files (N17.1): ``//`` line comments,
``/* ... */`` block comments and raw line breaks inside strings are accepted.

Comments are found by one scan that knows where strings start and end, so ``//`` inside a
string (``"https://..."``) is text, not a comment. Each comment is blanked to spaces (its line
breaks kept) before the standard parser runs, so line and column numbers in errors are those of
the file. The scan also enforces ``MAX_DEPTH`` so that a deeply nested document is a clear
error rather than a RecursionError inside the parser.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Deeper than any real template (the deepest corpus file nests 14 levels) and far below the
# depth where Python's recursive parser and our recursive evaluator would run out of stack.
MAX_DEPTH = 200

# A complete string (escapes included), a line comment, a block comment, an unterminated block
# comment, or a bracket. Everything else is copied as it is.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?\*/|/\*|[\[\]{}]', re.DOTALL)
_NOT_NEWLINE = re.compile(r"[^\n]")


class JsoncError(ValueError):
    """Text that is not JSON (with comments); ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.message = message
        self.line = line
        self.column = column


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def strip_comments(text: str) -> str:
    """The text with every comment outside strings blanked (same length, same line breaks);
    JsoncError for an unterminated block comment or nesting deeper than MAX_DEPTH."""
    pieces: list[str] = []
    depth, copied = 0, 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, column = _position(text, match.start())
                raise JsoncError(
                    f"nested deeper than {MAX_DEPTH} levels of objects and arrays", line, column
                )
        elif token in "]}":
            depth -= 1
        elif token == "/*":
            line, column = _position(text, match.start())
            raise JsoncError("a /* comment is never closed with */", line, column)
        elif token.startswith("/"):
            pieces.append(text[copied : match.start()])
            pieces.append(_NOT_NEWLINE.sub(" ", token))
            copied = match.end()
    pieces.append(text[copied:])
    return "".join(pieces)


def loads(text: str) -> Any:
    """Parse JSON with comments and raw line breaks in strings; JsoncError says where not."""
    cleaned = strip_comments(text)
    try:
        # strict=False: control characters (raw line breaks) are allowed inside strings.
        return json.loads(cleaned, strict=False)
    except json.JSONDecodeError as problem:
        raise JsoncError(problem.msg, problem.lineno, problem.colno) from None
    except RecursionError:  # defensive: MAX_DEPTH keeps the parser far from this
        raise JsoncError(f"nested deeper than {MAX_DEPTH} levels", 1, 1) from None


def looks_like_json(text: str) -> bool:
    """True when the first thing after whitespace and comments opens an object or array (an
    unclosed leading ``/*`` counts as JSON, so that the JSON reader reports it)."""
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if text.startswith("//", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end
        elif text.startswith("/*", position):
            end = text.find("*/", position + 2)
            if end < 0:
                return True
            position = end + 2
        else:
            return text.startswith(("{", "["), position)
