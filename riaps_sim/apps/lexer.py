"""Tokens of the RIAPS model (``.riaps``) and deployment (``.depl``) languages, with their line numbers.

Both languages are free-form: whitespace and newlines carry no meaning, ``//`` comments run to the
end of the line. The model language also has ``/* ... */`` comments; the deployment language does
not (a ``/*`` there is an error, as in RIAPS). A ``Cursor`` walks the tokens for the two
recursive-descent parsers (``riaps_sim.apps.model``, ``riaps_sim.apps.deployment``) and turns
every surprise into an ``AppError`` naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import AppError

__all__ = ["Token", "Cursor", "tokenize", "literal_value"]

#: Token kinds: ``word`` (identifiers, keywords, numbers, host names), ``string``, ``punct``, ``end``.
_MODEL_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<word>real-time|-?\d+\.\d+|-?\d+|[A-Za-z_][A-Za-z0-9_+]*)
  | (?P<punct>[{}();:,=%\[\]<>#@.!*/-])
    """,
    re.VERBOSE | re.DOTALL,
)
_DEPL_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<line_comment>//[^\n]*)
  | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<word>[\w.-]+)
  | (?P<punct>[{}();:,=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its text (strings unquoted) and the line it starts on."""

    kind: str
    text: str
    line: int


def tokenize(source: str, path: str | Path, language: str) -> list[Token]:
    """Split *source* (``language`` is ``"model"`` or ``"depl"``) into tokens, ending with an ``end`` token."""
    pattern = _MODEL_TOKEN if language == "model" else _DEPL_TOKEN
    tokens: list[Token] = []
    position, line = 0, 1
    while position < len(source):
        match = pattern.match(source, position)
        if match is None:
            if source.startswith("/*", position):
                raise AppError(path, line, "/* comment", "the deployment language has only // comments")
            raise AppError(path, line, repr(source[position]), "unexpected character")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "string":
            tokens.append(Token("string", _unquote(text), line))
        elif kind in ("word", "punct"):
            tokens.append(Token(kind, text, line))
        position = match.end()
        line += text.count("\n")
    tokens.append(Token("end", "", line))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+\.\d+")


def literal_value(token: Token) -> Any:
    """The Python value of a literal token: str, int, float or bool (``true``/``false``); a bare word is its text."""
    if token.kind == "string":
        return token.text
    if _INT.fullmatch(token.text):
        return int(token.text)
    if _FLOAT.fullmatch(token.text):
        return float(token.text)
    if token.text in ("true", "false"):
        return token.text == "true"
    return token.text


class Cursor:
    """A position in a token list, with the expectations the parsers need."""

    def __init__(self, tokens: list[Token], path: str | Path) -> None:
        self.tokens = tokens
        self.path = str(path)
        self.index = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        """Whether the current token is a word or punctuation with one of *texts*."""
        return self.token.kind in ("word", "punct") and self.token.text in texts

    def take(self) -> Token:
        token = self.token
        if token.kind != "end":
            self.index += 1
        return token

    def accept(self, *texts: str) -> Token | None:
        """Take the current token if it is one of *texts*; else ``None``."""
        return self.take() if self.at(*texts) else None

    def expect(self, text: str, where: str) -> Token:
        if not self.at(text):
            raise self.error(where, f"expected {text!r}, found {self.describe()}")
        return self.take()

    def identifier(self, where: str) -> Token:
        token = self.token
        if token.kind != "word" or not token.text.isidentifier():
            raise self.error(where, f"expected a name, found {self.describe()}")
        return self.take()

    def integer(self, where: str) -> int:
        token = self.token
        if token.kind != "word" or not _INT.fullmatch(token.text):
            raise self.error(where, f"expected an integer, found {self.describe()}")
        self.take()
        return int(token.text)

    def describe(self) -> str:
        token = self.token
        return "the end of the file" if token.kind == "end" else repr(token.text)

    def error(self, construct: str, reason: str, line: int | None = None) -> AppError:
        return AppError(self.path, line if line is not None else self.token.line, construct, reason)
