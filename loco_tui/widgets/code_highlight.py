"""Syntax highlighting one line at a time, carrying the lexer's state from line to line.

A streamed code block grows a line at a time; highlighting the whole block again on every
frame makes a 300-line block cost 300 lines of lexing per frame. Here each completed line is
lexed once, starting from the state the previous line left (so a line inside a docstring is
still a string). Pygments' RegexLexer keeps that state in a local stack, so this module runs
the same matching loop with the stack kept between calls. Lexers with their own loop are
lexed line by line without state, and unknown languages are not highlighted.

Rendering a whole block and rendering it line by line go through this same class, so they
agree by construction.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from pygments.lexer import Lexer, RegexLexer
from pygments.lexers import get_lexer_by_name
from pygments.token import Error, Text, Whitespace, _TokenType
from pygments.util import ClassNotFound

Token = tuple[_TokenType, str]


@lru_cache(maxsize=64)
def lexer_for(language: str) -> Lexer | None:
    """The Pygments lexer for a fence's info string (its first word), or None."""
    name = language.strip().split(maxsplit=1)[0].lower() if language.strip() else ""
    if not name:
        return None
    try:
        return get_lexer_by_name(name)
    except (ClassNotFound, ValueError):
        return None


class LineHighlighter:
    """Lexes a code block line by line; ``tokens(line)`` advances the state,
    ``peek(line)`` lexes an unfinished line without advancing it."""

    def __init__(self, language: str) -> None:
        self.lexer = lexer_for(language)
        self._stateful = (
            isinstance(self.lexer, RegexLexer)
            and type(self.lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed
        )
        self._stack: list[str] = ["root"]

    def tokens(self, line: str) -> list[Token]:
        """The tokens of one complete line (without its newline)."""
        return self._lex(line, self._stack)

    def peek(self, line: str) -> list[Token]:
        return self._lex(line, list(self._stack))

    def _lex(self, line: str, stack: list[str]) -> list[Token]:
        if self.lexer is None or not line:
            return [(Text, line)] if line else []
        if self._stateful:
            assert isinstance(self.lexer, RegexLexer)
            pieces = list(_regex_tokens(self.lexer, line + "\n", stack))
        else:
            pieces = [(kind, value) for _, kind, value in
                      self.lexer.get_tokens_unprocessed(line + "\n")]
        return _strip_newline(pieces)


def _strip_newline(pieces: list[Token]) -> list[Token]:
    """Drop the newline the lexer was given (it ends the last token or stands alone)."""
    out: list[Token] = []
    for kind, value in pieces:
        value = value.replace("\n", "")
        if value:
            out.append((kind, value))
    return out


def _regex_tokens(lexer: RegexLexer, text: str, stack: list[str]) -> Iterator[Token]:
    """Pygments' ``RegexLexer.get_tokens_unprocessed`` loop, with the state stack passed in
    and left where the text ended (the stock method copies it and throws it away)."""
    tokendefs = lexer._tokens
    if stack[-1] not in tokendefs:
        del stack[1:]
        stack[0] = "root"
    statetokens = tokendefs[stack[-1]]
    pos = 0
    while True:
        for rexmatch, action, new_state in statetokens:
            match = rexmatch(text, pos)
            if not match:
                continue
            if action is not None:
                if type(action) is _TokenType:
                    yield action, match.group()
                else:
                    for _, kind, value in action(lexer, match):
                        yield kind, value
            pos = match.end()
            if new_state is not None:
                if isinstance(new_state, tuple):
                    for state in new_state:
                        if state == "#pop":
                            if len(stack) > 1:
                                stack.pop()
                        elif state == "#push":
                            stack.append(stack[-1])
                        else:
                            stack.append(state)
                elif isinstance(new_state, int):
                    if abs(new_state) >= len(stack):
                        del stack[1:]
                    else:
                        del stack[new_state:]
                elif new_state == "#push":
                    stack.append(stack[-1])
                statetokens = tokendefs[stack[-1]]
            break
        else:
            if pos >= len(text):
                return
            if text[pos] == "\n":
                # Pygments resets to the root state at an unmatched end of line.
                del stack[:]
                stack.append("root")
                statetokens = tokendefs["root"]
                yield Whitespace, "\n"
                pos += 1
                continue
            yield Error, text[pos]
            pos += 1
