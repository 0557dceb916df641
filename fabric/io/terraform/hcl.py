"""Reading ``.tf`` files: python-hcl2 parses them, this module keeps the shape Terraform sees.

A file becomes a ``Body`` of ``Attribute`` (name, unevaluated expression, line) and ``Block``
(type, labels, body, line). A directory becomes a ``ModuleConfig``: its variables, locals,
outputs, resources, data sources and module calls, each with the file and line that declared it.
Syntax errors are ``InputError`` (with the line); problems Terraform reports after parsing
(a resource declared twice) are kept in ``ModuleConfig.problems`` for the loader to report.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import hcl2
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from fabric.io.errors import InputError, Problem

# Block types that carry no resources for us; their contents are not evaluated.
_IGNORED_BLOCKS = frozenset(
    {"terraform", "provider", "moved", "import", "check", "removed", "ephemeral"}
)

_TOKEN_TEXT = {
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "RSQB": "']'",
    "LSQB": "'['",
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "EQ": "'='",
    "COLON": "':'",
    "DBLQUOTE": "'\"'",
    "NL_OR_COMMENT": "a new line",
    "$END": "the end of the file",
    "NAME": "a name",
    "STRING_CHARS": "text",
    "INTERP_START": "'${'",
    "QMARK": "'?'",
    "DOT": "'.'",
}


def _display(path: Path) -> str:
    """A path as the user will recognise it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@attrs.frozen
class Attribute:
    """``name = expression`` with where it was written."""

    name: str
    expr: Tree
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen
class Block:
    """``type "label" ... { body }`` with where it was written."""

    type: str
    labels: tuple[str, ...]
    body: Body
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen(eq=False)
class Body:
    """The attributes (by name) and nested blocks (in order) of a file or block."""

    attributes: dict[str, Attribute]
    blocks: tuple[Block, ...]

    def blocks_of(self, kind: str) -> list[Block]:
        return [block for block in self.blocks if block.type == kind]


def parse_text(text: str, file: str) -> Body:
    """Parse HCL ``text`` (from ``file``, for messages); InputError on bad syntax."""
    try:
        tree = hcl2.parses_to_tree(text)
    except UnexpectedInput as problem:
        raise InputError(file, [_syntax_problem(problem)]) from None
    except (LarkError, ValueError, RuntimeError) as problem:
        raise InputError(file, [Problem("", f"not valid HCL: {problem}")]) from None
    return _body(_children(tree)[0], file)


def _syntax_problem(problem: Exception) -> Problem:
    line = getattr(problem, "line", None)
    line = line if isinstance(line, int) and line > 0 else None
    if isinstance(problem, UnexpectedToken):
        found = _TOKEN_TEXT.get(problem.token.type, repr(str(problem.token)))
        expected = sorted({_TOKEN_TEXT.get(t, t) for t in problem.expected} - {"a new line"})
        hint = f" (expected {', '.join(expected[:4])})" if expected and len(expected) <= 4 else ""
        message = f"not valid HCL: unexpected {found}{hint}"
    elif isinstance(problem, UnexpectedCharacters):
        message = f"not valid HCL: unexpected character {problem.char!r}"
    else:
        message = "not valid HCL: the file ends inside a block, list or string"
    fix = "; check that every '{', '[', '(' and '\"' before this point is closed"
    return Problem("", message + fix, line)


def _children(tree: Tree) -> list[Tree]:
    """The subtrees of ``tree``, without tokens and comment/newline nodes."""
    return [c for c in tree.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(node: Tree | Token) -> str:
    """The text of an identifier, keyword, literal or plain string label."""
    if isinstance(node, Token):
        return str(node)
    if node.data == "string":
        return "".join(
            str(part.children[0])
            for part in _children(node)
            if part.children and isinstance(part.children[0], Token)
        )
    return str(node.children[0])


def _body(tree: Tree, file: str) -> Body:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for child in _children(tree):
        line = child.meta.line if not child.meta.empty else 0
        if child.data == "attribute":
            name_node, expr = _children(child)[0], _children(child)[-1]
            name = _name(name_node)
            if name in attributes:
                raise InputError(
                    file,
                    [
                        Problem(
                            "",
                            f"attribute {name!r} is set twice (first at line "
                            f"{attributes[name].line}); keep one",
                            line,
                        )
                    ],
                )
            attributes[name] = Attribute(name, expr, file, line)
        elif child.data == "block":
            parts = _children(child)
            labels = tuple(_name(p) for p in parts[1:-1])
            blocks.append(Block(_name(parts[0]), labels, _body(parts[-1], file), file, line))
    return Body(attributes, tuple(blocks))


@attrs.define
class ModuleConfig:
    """The declarations of one module (a directory of ``.tf`` files, or one file)."""

    dir: Path
    variables: dict[str, Block] = attrs.field(factory=dict)
    locals: dict[str, Attribute] = attrs.field(factory=dict)
    outputs: dict[str, Block] = attrs.field(factory=dict)
    resources: dict[tuple[str, str], Block] = attrs.field(factory=dict)
    data: dict[tuple[str, str], Block] = attrs.field(factory=dict)
    modules: dict[str, Block] = attrs.field(factory=dict)
    files: list[str] = attrs.field(factory=list)
    # (where, message) pairs Terraform would report as errors after parsing.
    problems: list[tuple[str, str]] = attrs.field(factory=list)
    # (where, message) pairs worth a warning (files vnetsim does not read).
    notes: list[tuple[str, str]] = attrs.field(factory=list)

    def add(self, block: Block) -> None:
        """File one top-level block under its kind."""
        kind, labels = block.type, block.labels
        table: dict | None = None
        key: object = None
        if kind in ("resource", "data") and len(labels) == 2:
            table, key = (self.resources if kind == "resource" else self.data), labels
        elif kind in ("variable", "output", "module") and len(labels) == 1:
            table = {"variable": self.variables, "output": self.outputs, "module": self.modules}[
                kind
            ]
            key = labels[0]
        elif kind == "locals":
            for name, attribute in block.body.attributes.items():
                if name in self.locals:
                    self._duplicate(f"local.{name}", attribute.where, self.locals[name].where)
                else:
                    self.locals[name] = attribute
            return
        elif kind in _IGNORED_BLOCKS:
            return
        else:
            self.problems.append(
                (block.where, f"unexpected block {kind} {' '.join(map(repr, labels))}".strip())
            )
            return
        if key in table:
            label = ".".join(key) if isinstance(key, tuple) else f"{kind}.{key}"
            self._duplicate(label, block.where, table[key].where)
            return
        table[key] = block

    def _duplicate(self, label: str, where: str, first: str) -> None:
        self.problems.append((where, f"{label} is declared twice (first at {first}); keep one"))


def read_module(path: Path) -> ModuleConfig:
    """The configuration in directory ``path`` (its ``*.tf`` files), or in one ``.tf`` file."""
    if path.is_file():
        config = ModuleConfig(path.parent)
        files = [path]
    else:
        config = ModuleConfig(path)
        files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(".tf"))
        for other in sorted(p for p in path.iterdir() if p.name.endswith(".tf.json")):
            config.notes.append(
                (_display(other), "Terraform JSON syntax (.tf.json) is not read by vnetsim")
            )
    for file in files:
        shown = _display(file)
        if file.name == "override.tf" or file.name.endswith("_override.tf"):
            config.notes.append(
                (shown, "override files are not merged by vnetsim; the file was left out")
            )
            continue
        config.files.append(shown)
        body = parse_text(read_text(file), shown)
        for attribute in body.attributes.values():
            config.problems.append(
                (attribute.where, f"top-level attribute {attribute.name!r} is not allowed here")
            )
        for block in body.blocks:
            config.add(block)
    return config


def read_text(path: Path) -> str:
    """The text of ``path``; InputError when it cannot be read (as for every input file)."""
    from fabric.io.errors import read_text

    return read_text(path)
