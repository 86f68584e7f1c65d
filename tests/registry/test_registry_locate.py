"""The key-path -> line indexer, on its own."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from loco_tui.registry.locate import index_keys

ROOT = Path(__file__).resolve().parents[2]


def lines(text: str) -> dict[tuple, int]:
    return {path: pos[0] for path, pos in index_keys(text).positions.items()}


def test_table_headers_and_keys() -> None:
    text = 'top = 1\n\n[models.qwen]\nprovider = "local"\n\n[models.smol]\nsize = "XS"\n'
    idx = index_keys(text)
    assert idx.line_of(("top",)) == 1
    assert idx.line_of(("models",)) == 3  # implicitly created by the first header
    assert idx.line_of(("models", "qwen")) == 3
    assert idx.line_of(("models", "qwen", "provider")) == 4
    assert idx.line_of(("models", "smol")) == 6
    assert idx.line_of(("models", "smol", "size")) == 7
    assert idx.position(("models", "smol", "size")) == (7, 1)


def test_missing_key_resolves_to_nearest_ancestor() -> None:
    idx = index_keys('[models.qwen]\nprovider = "x"\n')
    assert idx.line_of(("models", "qwen", "model")) == 1
    assert idx.exact(("models", "qwen", "model")) is None
    assert idx.line_of(("nothing",)) is None
    assert idx.line_of(()) is None


def test_explicit_header_after_implicit_one() -> None:
    idx = index_keys("[a.b.c]\nx = 1\n[a]\ny = 2\n")
    assert idx.line_of(("a", "b", "c", "x")) == 2
    assert idx.line_of(("a",)) == 3
    assert idx.line_of(("a", "b")) == 1


def test_array_of_tables_indexing() -> None:
    text = (
        "[routing]\n"
        'strategy = "rules"\n'
        "[[routing.rules]]\n"
        'when = ["a"]\n'
        'role = "x"\n'
        "\n"
        "[[routing.rules]]\n"
        'when = ["b"]\n'
        'role = "y"\n'
    )
    idx = index_keys(text)
    assert idx.line_of(("routing", "rules")) == 3
    assert idx.line_of(("routing", "rules", 0)) == 3
    assert idx.line_of(("routing", "rules", 0, "role")) == 5
    assert idx.line_of(("routing", "rules", 1)) == 7
    assert idx.line_of(("routing", "rules", 1, "role")) == 9
    assert idx.line_of(("routing", "rules", 1, "when", 0)) == 8
    # A key the element lacks points at that element's header.
    assert idx.line_of(("routing", "rules", 1, "nope")) == 7


def test_nested_arrays_of_tables_and_subtables() -> None:
    text = (
        "[[w]]\n"  # 1
        'name = "a"\n'  # 2
        "[[w.p]]\n"  # 3
        "x = 1\n"  # 4
        "[[w.p]]\n"  # 5
        "x = 2\n"  # 6
        "[w.p.sub]\n"  # 7  (the sub-table of w[0].p[1])
        "y = 3\n"  # 8
        "[[w]]\n"  # 9
        "[[w.p]]\n"  # 10
        "x = 3\n"  # 11
    )
    assert tomllib.loads(text)["w"][0]["p"][1]["sub"]["y"] == 3
    got = lines(text)
    assert got[("w", 0)] == 1
    assert got[("w", 0, "p", 0, "x")] == 4
    assert got[("w", 0, "p", 1)] == 5
    assert got[("w", 0, "p", 1, "sub")] == 7
    assert got[("w", 0, "p", 1, "sub", "y")] == 8
    assert got[("w", 1)] == 9
    assert got[("w", 1, "p", 0)] == 10
    assert got[("w", 1, "p", 0, "x")] == 11


def test_dotted_and_quoted_keys() -> None:
    text = (
        '[models."qwen2.5"]\n'  # 1
        'options.temperature = 0.2\n'  # 2
        "'literal key' = 1\n"  # 3
        '"esc\\"aped" . inner = 2\n'  # 4
        '[ providers . "a b" ]\n'  # 5
        'kind = "ollama"\n'  # 6
    )
    got = lines(text)
    assert got[("models", "qwen2.5")] == 1
    assert got[("models", "qwen2.5", "options")] == 2
    assert got[("models", "qwen2.5", "options", "temperature")] == 2
    assert got[("models", "qwen2.5", "literal key")] == 3
    assert got[("models", "qwen2.5", 'esc"aped', "inner")] == 4
    assert got[("providers", "a b", "kind")] == 6


def test_inline_tables_and_arrays_of_inline_tables() -> None:
    text = (
        "[models.q]\n"  # 1
        "options = { temperature = 0.2, nested = { deep = true } }\n"  # 2
        "[ensembles.e]\n"  # 3
        "members = [\n"  # 4
        '  {model="x"},  # a comment with { braces } and [brackets]\n'  # 5
        '  {model="y", persona = "p"}, {role = "r"}\n'  # 6
        "]\n"  # 7
        'judge = "j"\n'  # 8
    )
    idx = index_keys(text)
    assert idx.line_of(("models", "q", "options")) == 2
    assert idx.line_of(("models", "q", "options", "temperature")) == 2
    assert idx.line_of(("models", "q", "options", "nested", "deep")) == 2
    assert idx.line_of(("ensembles", "e", "members")) == 4
    assert idx.line_of(("ensembles", "e", "members", 0)) == 5
    assert idx.line_of(("ensembles", "e", "members", 0, "model")) == 5
    assert idx.line_of(("ensembles", "e", "members", 1, "persona")) == 6
    assert idx.line_of(("ensembles", "e", "members", 2)) == 6
    assert idx.position(("ensembles", "e", "members", 2)) == (6, 31)
    assert idx.line_of(("ensembles", "e", "members", 2, "missing")) == 6
    assert idx.line_of(("ensembles", "e", "judge")) == 8


def test_multiline_strings_and_arrays_do_not_confuse_lines() -> None:
    text = (
        "[personas.p]\n"  # 1
        'system = """\n'  # 2
        "[not.a.table]\n"  # 3
        'fake = "key" \\"""\n'  # 4  escaped quotes inside
        'still = """\n'  # 5  closes the string (""" then newline)
        "temperature = 0.5\n"  # 6
        "other = '''\n"  # 7
        "[[nor.this]] ''\n"  # 8
        "'''\n"  # 9
        "when = [\n"  # 10
        '  "a",  # [x] = 1\n'  # 11
        "  '''b\n"  # 12
        "c''',\n"  # 13
        '  "d"\n'  # 14
        "]\n"  # 15
        "dt = 1979-05-27 07:32:00Z\n"  # 16
        "after = 1\n"  # 17
    )
    data = tomllib.loads(text)
    assert data["personas"]["p"]["temperature"] == 0.5
    got = lines(text)
    assert ("not", "a", "table") not in got and ("nor",) not in got
    assert got[("personas", "p", "temperature")] == 6
    assert got[("personas", "p", "other")] == 7
    assert got[("personas", "p", "when", 1)] == 12
    assert got[("personas", "p", "when", 2)] == 14
    assert got[("personas", "p", "dt")] == 16
    assert got[("personas", "p", "after")] == 17


def test_crlf_line_endings() -> None:
    text = '[a]\r\nx = 1\r\n\r\n[b]\r\ny = """\r\nz\r\n"""\r\nw = 2\r\n'
    assert tomllib.loads(text)["b"]["w"] == 2
    got = lines(text)
    assert got[("a", "x")] == 2 and got[("b",)] == 4 and got[("b", "w")] == 8


def test_broken_text_never_raises() -> None:
    for text in ['[a\nx = 1', 'x = "unterminated', "x = [1, 2", "[[a]]\n= 3", "x = {", "\x00"]:
        index_keys(text)  # positions are a courtesy: no exception, whatever was found
    assert index_keys('a = 1\nb = "oops').line_of(("a",)) == 1


def _all_paths(value: Any, path: tuple = ()) -> list[tuple]:
    out = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += _all_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _all_paths(item, (*path, i))
    return out


@pytest.mark.parametrize(
    "path", [ROOT / "config" / "loco.toml", ROOT / "loco_tui" / "registry" / "default.toml"]
)
def test_every_key_of_the_shipped_registries_is_located(path: Path) -> None:
    text = path.read_text("utf-8")
    idx = index_keys(text)
    source_lines = text.splitlines()
    for key_path in _all_paths(tomllib.loads(text)):
        pos = idx.exact(key_path)
        assert pos is not None, key_path
        if isinstance(key_path[-1], str):
            # The recorded line really names the key (bare, or quoted).
            assert key_path[-1] in source_lines[pos[0] - 1], (key_path, pos)


# -- property: whatever tomli-w writes, every key and element is located on its own line -----

import tomli_w  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_keys = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_-]{0,6}", fullmatch=True),
    st.text(alphabet="ab .\"'#[]=é\\", min_size=1, max_size=5),
)
_scalars = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.text(alphabet='ab\n"\'#[]{}=\\', max_size=8),
)


def _tables(depth: int) -> st.SearchStrategy:
    if depth == 0:
        return st.dictionaries(_keys, _scalars, max_size=3)
    child = _tables(depth - 1)
    value = st.one_of(
        _scalars,
        st.lists(_scalars, max_size=3),
        child,
        st.lists(child, min_size=1, max_size=3),  # arrays of tables
    )
    return st.dictionaries(_keys, value, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables(3), st.booleans())
def test_every_path_of_any_document_is_located(data: dict, multiline: bool) -> None:
    text = tomli_w.dumps(data, multiline_strings=multiline)
    assert tomllib.loads(text) == data
    idx = index_keys(text)
    for key_path in _all_paths(data):
        assert idx.exact(key_path) is not None, (key_path, text)
