"""Text-level edits of a YAML list in a condarc (``envs_dirs``, ``pkgs_dirs``): find the
list, insert or remove items, and check the result parses to exactly the list expected, so
the user's comments and layout survive (``conda config`` drops them)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from condashare.conda.context import KEYS, CondarcError
from condashare.conda.effective import flag_from_comment, item_comments, key_line_of
from condashare.conda.search import parse_condarc

# --------------------------------------------------------------------------- text-level edits
#
# Edits change only the lines of the list items they add or remove; every other byte of the file
# (comments, blank lines, key order, quoting, indentation, #! tags) stays as it was. ruamel's
# round-trip parser locates the items; after each edit the result is parsed again and compared
# with what was intended, so a layout we misread is refused instead of written.


@dataclass(frozen=True)
class ItemSpan:
    """Where one list item sits in the text (0-based lines, inclusive)."""

    index: int
    value: str
    first_line: int
    last_line: int
    flag: str | None
    text: str  # the item's own lines, exactly as in the file


@dataclass(frozen=True)
class ListLayout:
    """How a key's list is written in a file."""

    key: str  # the key as spelled (envs_dirs, envs_path, pkgs_dirs ...)
    style: str  # block | flow | null | absent
    key_line: int | None
    key_col: int
    items: tuple[ItemSpan, ...]
    dash_col: int = 2
    flow_span: tuple[int, int, int] | None = None  # line, start col of "[", end col after "]"

    @property
    def values(self) -> list[str]:
        return [i.value for i in self.items]


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _is_comment_or_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _flow_end(line: str, start: int) -> int:
    """Index just after the ``]`` that closes the flow list opening at ``start``."""
    i = start + 1
    quote: str | None = None
    while i < len(line):
        ch = line[i]
        if quote == "'":
            if ch == "'" and i + 1 < len(line) and line[i + 1] == "'":
                i += 2
                continue
            if ch == "'":
                quote = None
        elif quote == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "]":
            return i + 1
        elif ch in "[{":
            return -1  # nested flow collections: not a list of paths
        i += 1
    return -1


def locate_list(text: str, path: str, name: str) -> ListLayout:
    """Find ``name``'s list (any alias) in condarc text; CondarcError when it cannot be edited."""
    data = parse_condarc(text, path)
    if data is None:
        return ListLayout(name, "absent", None, 0, ())
    keys = [k for k in data if k in KEYS[name]]
    if len(keys) > 1:
        line = key_line_of(data, keys[1])
        raise CondarcError(path, line, f"both {keys[0]} and {keys[1]} are set; conda refuses that")
    if not keys:
        return ListLayout(name, "absent", None, 0, ())
    key = keys[0]
    key_line, key_col = (int(x) for x in data.lc.key(key))
    value = data[key]
    if value is None:
        return ListLayout(key, "null", key_line, key_col, ())
    if not isinstance(value, list):
        raise CondarcError(
            path, key_line + 1, f"{key} must be a list of directories, not {type(value).__name__}"
        )
    value_any: Any = value  # a ruamel CommentedSeq: .lc positions, .fa flow style
    value = value_any
    comments = item_comments(value)
    lines = _lines(text)
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise CondarcError(path, int(value.lc.item(i)[0]) + 1, f"{key}[{i}] is not a path")
    line_no, start = (int(x) for x in data.lc.value(key))
    empty_flow = not value and lines[line_no][start : start + 1] == "["  # `[]`: no style set
    if value.fa.flow_style() or empty_flow:
        end = _flow_end(lines[line_no], start) if line_no < len(lines) else -1
        if end < 0 or any(int(value.lc.item(i)[0]) != line_no for i in range(len(value))):
            raise CondarcError(
                path,
                line_no + 1,
                f"{key} is a flow list over several lines; write it as one "
                "line or as a block list (- item per line) so it can be edited safely",
            )
        spans = tuple(
            ItemSpan(i, str(v), line_no, line_no, flag_from_comment(comments[i]), "")
            for i, v in enumerate(value)
        )
        return ListLayout(key, "flow", key_line, key_col, spans, 0, (line_no, start, end))
    spans_list: list[ItemSpan] = []
    dash_col = key_col + 2
    for i, item in enumerate(value):
        line_no, col = (int(x) for x in value.lc.item(i))
        src = lines[line_no]
        dash = src.rfind("-", 0, col)
        if dash < 0 or src[:dash].strip():
            raise CondarcError(
                path, line_no + 1, f"{key}[{i}] is not written as '- item' on its own line"
            )
        if i == 0:
            dash_col = dash
        last = line_no
        for j in range(line_no + 1, len(lines)):
            if _is_comment_or_blank(lines[j]) or _indent(lines[j]) <= dash:
                break
            last = j
        text_lines = "".join(lines[line_no : last + 1])
        spans_list.append(
            ItemSpan(i, str(item), line_no, last, flag_from_comment(comments[i]), text_lines)
        )
    return ListLayout(key, "block", key_line, key_col, tuple(spans_list), dash_col)


_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_~/.$+=-][A-Za-z0-9_~/.$%{}+@=:, -]*")


def yaml_scalar(value: str) -> str:
    """A YAML scalar for a path: plain when unambiguous, else single-quoted."""
    if (
        _PLAIN_SAFE.fullmatch(value)
        and ": " not in value
        and " #" not in value
        and not value.endswith((" ", ":"))
        and value.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~")
    ):
        return value
    return "'" + value.replace("'", "''") + "'"


def _plain_data(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _plain_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain_data(v) for v in data]
    return data


def _verify(before: str, after: str, path: str, name: str, expected: list[str]) -> None:
    """The edit changed exactly ``name``'s list into ``expected``; else refuse."""
    old = _plain_data(parse_condarc(before, path) or {})
    try:
        new = _plain_data(parse_condarc(after, path) or {})
    except CondarcError as exc:
        raise CondarcError(path, exc.line, f"edit would break the file ({exc.message})") from None
    keys = KEYS[name]
    got = next((new[k] for k in new if k in keys), None)
    if (got or []) != expected:
        raise CondarcError(path, None, f"edit of {name} could not be done safely; file unchanged")
    if {k: v for k, v in old.items() if k not in keys} != {
        k: v for k, v in new.items() if k not in keys
    }:
        raise CondarcError(path, None, "edit would change other settings; file unchanged")


def remove_items(
    text: str, path: str, name: str, indices: Iterable[int]
) -> tuple[str, list[ItemSpan]]:
    """Delete list items by index; returns the new text and the removed items (with their lines)."""
    layout = locate_list(text, path, name)
    drop = sorted(set(indices))
    if not drop:
        return text, []
    removed = [layout.items[i] for i in drop]
    keep = [it for it in layout.items if it.index not in drop]
    lines = _lines(text)
    if layout.style == "flow":
        assert layout.flow_span is not None
        line_no, start, end = layout.flow_span
        new_line = (
            lines[line_no][:start]
            + _flow_text(lines[line_no], layout, keep)
            + (lines[line_no][end:])
        )
        lines[line_no] = new_line
    else:
        for it in sorted(removed, key=lambda s: -s.first_line):
            del lines[it.first_line : it.last_line + 1]
    new_text = "".join(lines)
    _verify(text, new_text, path, name, [it.value for it in keep])
    if _flags(new_text, path, name) != [(it.value, it.flag) for it in keep]:
        # conda reads a comment line *after* an item as that item's tag: when the removed item
        # owned such a line, it must go with it, or the tag would move to the item before.
        if layout.style != "block":
            raise CondarcError(path, None, "removing the item would move a #! tag; edit by hand")
        lines = _lines(text)
        extended = []
        for it in removed:
            last = it.last_line
            stop = (
                layout.items[it.index + 1].first_line
                if it.index + 1 < len(layout.items)
                else len(lines)
            )
            while last + 1 < stop and _is_comment_or_blank(lines[last + 1]):
                last += 1
            extended.append(
                ItemSpan(
                    it.index,
                    it.value,
                    it.first_line,
                    last,
                    it.flag,
                    "".join(lines[it.first_line : last + 1]),
                )
            )
        for it in sorted(extended, key=lambda s: -s.first_line):
            del lines[it.first_line : it.last_line + 1]
        new_text = "".join(lines)
        _verify(text, new_text, path, name, [it.value for it in keep])
        if _flags(new_text, path, name) != [(it.value, it.flag) for it in keep]:
            raise CondarcError(path, None, "removing the item would move a #! tag; edit by hand")
        removed = extended
    return new_text, removed


def _flags(text: str, path: str, name: str) -> list[tuple[str, str | None]]:
    return [(it.value, it.flag) for it in locate_list(text, path, name).items]


def _flow_item_texts(line: str, layout: ListLayout) -> list[str]:
    """Each flow item's source text (quotes kept)."""
    assert layout.flow_span is not None
    _, start, end = layout.flow_span
    body = line[start + 1 : end - 1]
    out: list[str] = []
    current = ""
    quote: str | None = None
    i = 0
    while i < len(body):
        ch = body[i]
        if quote:
            current += ch
            if quote == '"' and ch == "\\" and i + 1 < len(body):
                current += body[i + 1]
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            out.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    if current.strip():
        out.append(current.strip())
    return out


def _flow_text(
    line: str, layout: ListLayout, keep: Sequence[ItemSpan], extra: dict[int, str] | None = None
) -> str:
    texts = _flow_item_texts(line, layout)
    parts = [texts[it.index] for it in keep]
    for pos, scalar in sorted((extra or {}).items()):
        parts.insert(min(pos, len(parts)), scalar)
    return "[" + ", ".join(parts) + "]"


_NULL_DOCUMENT = re.compile(r"^\s*(~|null|Null|NULL)\s*(#.*)?$")


def insert_lines(text: str, path: str, name: str, index: int, item_text: str, value: str) -> str:
    """Insert an item (given as its own block lines, e.g. ``'  - /x  #!top\\n'``) at ``index``.

    Flow lists get the scalar inserted; a missing key is added at the end of the file.
    """
    layout = locate_list(text, path, name)
    lines = _lines(text)
    expected = layout.values
    index = max(0, min(index, len(expected)))
    expected.insert(index, value)
    if not item_text.endswith("\n"):
        item_text += "\n"
    if layout.style == "flow":
        assert layout.flow_span is not None
        line_no, start, end = layout.flow_span
        scalar = item_text.strip()
        scalar = scalar[1:].strip() if scalar.startswith("-") else scalar
        scalar = re.sub(r"\s+#.*$", "", scalar)
        flow = _flow_text(lines[line_no], layout, layout.items, {index: scalar})
        lines[line_no] = lines[line_no][:start] + flow + lines[line_no][end:]
    elif layout.style == "block":
        # right after the item before (comment lines that follow an item belong to it)
        at = layout.items[index - 1].last_line + 1 if index > 0 else layout.items[0].first_line
        _insert(lines, at, item_text)
    elif layout.style == "null":
        assert layout.key_line is not None
        _insert(lines, layout.key_line + 1, item_text)
    else:
        if parse_condarc(text, path) is None:  # a null document (`~`, `null`): now a mapping
            lines = [line for line in lines if not _NULL_DOCUMENT.match(line)]
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        lines.append(f"{name}:\n")
        lines.append(item_text)
    new_text = "".join(lines)
    _verify(text, new_text, path, name, expected)
    return new_text


def _insert(lines: list[str], at: int, text: str) -> None:
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"  # the file ended without a newline
    lines.insert(at, text)


def item_line(layout: ListLayout, value: str, comment: str = "") -> str:
    """A new block item line in the file's own indentation."""
    indent = layout.dash_col if layout.style == "block" else layout.key_col + 2
    tail = f"  {comment}" if comment else ""
    return " " * indent + "- " + yaml_scalar(value) + tail + "\n"
