"""Input errors: bad files get a message naming the file, the place in it and the fix."""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen(slots=True)
class Problem:
    """One thing wrong with an input file."""

    path: str  # where in the document, e.g. vnets[0].subnets[1].address_prefix
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class InputError(Exception):
    """The input cannot be loaded; carries every problem found (CLI exit code 2)."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line."""
        return "\n".join(problem.render(self.file) for problem in self.problems)


def read_text(path: Path | str) -> str:
    """A UTF-8 text file (a BOM is dropped); an InputError naming it when it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise InputError(str(path), [Problem("", "is a directory, not a file")]) from None
    except UnicodeDecodeError as problem:
        raise InputError(
            str(path), [Problem("", f"is not UTF-8 text ({problem.reason})")]
        ) from None
    except OSError as problem:
        raise InputError(str(path), [Problem("", f"cannot be read: {problem.strerror}")]) from None
