"""Cut a config text into the items of its top-level ``rules:`` list, without parsing it.

A reload after an analyst changed a few rules should not parse all the others again.
:func:`split_rule_items` finds the items of the ``rules:`` block list with a few string
searches when the file has the plain shape almost every rule file has: one ``rules:``
line at column 0, a block list, no anchors or aliases, ``\\n`` line breaks, every line of
the list inside an item. Otherwise it gives up (``None``: the caller parses the whole
file). The cut is still verified, against a full parse's node tree (:func:`items_match`)
or, for a new item, by parsing it alone, so the file means head, items, tail; the head
and tail, which hold any directives, are parsed by the caller (:meth:`RuleItems.skeleton`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate, repeat

from yaml.nodes import MappingNode, Node, ScalarNode

_RULES_LINE = "rules:"
_RULES_REST = re.compile(r"(?:[ ]+#[^\n]*)?[ ]*")
# What may precede an anchor ("&a") or alias ("*a"): a node starts at the start of the
# text or after a space or flow indicator ("summon*" or "AT&T" are no anchor or alias).
_NODE_START = " \t\n[{,"
# Line breaks YAML knows besides "\n" (they would shift line numbers) and a byte order mark.
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029", "\ufeff")
_CONTENT_LINE = re.compile(r"\n( *)(?=[^ \n#])")  # a line with more than a comment
_ITEM_START = re.compile(r"-(?:[ \n]|$)")
_END_AT_0 = re.compile(r"\n(?=[^ \n#])(?!-(?:[ \n]|$))")
_END = re.compile(r"\n(?=[^ \n#])")


def _odd_lines(indent: int) -> re.Pattern[str]:
    """Lines with content at columns 1..``indent`` that are no comment and no item."""
    exact = rf" {{{indent}}}(?!-(?:[ \n]|$))[^ \n#]"
    if indent == 1:
        return re.compile(rf"\n{exact}")
    return re.compile(rf"\n(?: {{1,{indent - 1}}}[^ \n#]|{exact})")


def _has_anchor_or_alias(text: str) -> bool:
    # One str.find per "&" or "*": a regular expression starting with a character class
    # scans a large file far more slowly.
    for sign in "&*":
        at = text.find(sign)
        while at != -1:
            if at == 0 or text[at - 1] in _NODE_START:
                return True
            at = text.find(sign, at + 1)
    return False


@dataclass(frozen=True, slots=True)
class RuleItems:
    """A config text cut around its rules list.

    ``head + "".join(items) + tail`` is the text. ``lines[k]`` is the 0-based line of
    item ``k``'s ``-``; the tail starts on line ``tail_line``; the ``rules:`` key is on
    line ``rules_line``; the items' ``-`` are in column ``indent`` (0-based).
    """

    head: str
    items: tuple[str, ...]
    lines: tuple[int, ...]
    tail: str
    tail_line: int
    indent: int
    rules_line: int

    def skeleton(self) -> str:
        """The text with every item replaced by as many empty lines (same line numbers).

        Parsed, it gives the head's and the tail's values (version, defaults,
        subscriptions) at their real positions, with ``rules`` null.
        """
        head_lines = self.lines[0] if self.lines else self.tail_line
        return self.head + "\n" * (self.tail_line - head_lines) + self.tail


def split_rule_items(text: str) -> RuleItems | None:
    """Cut ``text`` into head, rule items and tail; ``None`` when it is not plain enough."""
    if any(ch in text for ch in _OTHER_BREAKS) or _has_anchor_or_alias(text):
        return None
    # Directives and document markers need no search: in the head or the tail they are
    # parsed with the skeleton, and at column 0 inside the list they end it (the tail).
    at = 0 if text.startswith(_RULES_LINE) else text.find("\n" + _RULES_LINE) + 1
    if (at == 0 and not text.startswith(_RULES_LINE)) or text.find("\n" + _RULES_LINE, at) != -1:
        return None  # none, or more than one (a duplicate key: the parser reports it)
    end_of_line = text.find("\n", at)
    if end_of_line == -1 or not _RULES_REST.fullmatch(text, at + len(_RULES_LINE), end_of_line):
        return None
    body = end_of_line  # the "\n" before the list's first line
    first = _CONTENT_LINE.search(text, body)
    if first is None:
        return None
    indent = len(first.group(1))
    pad = " " * indent
    if not _ITEM_START.match(text, first.end()):
        return None  # the first thing after "rules:" is not a block list item
    # The list ends at the first line with something at column 0 other than a comment
    # (or, at indent 0, an item).
    found = (_END_AT_0 if indent == 0 else _END).search(text, body)
    end = found.start() + 1 if found is not None else len(text)
    if indent and _odd_lines(indent).search(text, body, end):
        return None  # as indented as the items' "-" or less, yet not an item: ambiguous
    item_start = re.compile(rf"\n{pad}-(?=[ \n])")
    starts = [m.start() + 1 for m in item_start.finditer(text, body, end)]
    if not starts or starts[0] != first.start() + 1:
        return None
    head = text[: starts[0]]
    bounds = [*starts, end]
    items = tuple(text[bounds[k] : bounds[k + 1]] for k in range(len(starts)))
    # Line of each item: the head's lines plus those of the items before it.
    lines = tuple(accumulate(map(str.count, items, repeat("\n")), initial=head.count("\n")))
    rules_line = text.count("\n", 0, at)
    return RuleItems(head, items, lines[:-1], text[end:], lines[-1], indent, rules_line)


def items_match(items: RuleItems, sequence: Node) -> bool:
    """True when a full parse's ``rules`` sequence node has exactly these items.

    Each item node must start after its ``-`` line's start and end no later than the
    next item's ``-`` (or the tail): then the ``-`` found at the start of each item is
    the list's own entry indicator, not text inside a quoted scalar or a bracket.
    """
    nodes = sequence.value
    if len(nodes) != len(items.items) or not isinstance(nodes, list):
        return False
    lines = items.lines
    indent = items.indent
    last = len(nodes) - 1
    for k, node in enumerate(nodes):
        start = node.start_mark
        if (start.line, start.column) < (lines[k], indent + 1):
            return False
        end = node.end_mark
        if k < last:
            if (end.line, end.column) > (lines[k + 1], indent):
                return False
        elif items.tail and (end.line, end.column) > (items.tail_line, 0):
            return False
    return True


def rules_key_at(mapping: Node | None, line: int) -> bool:
    """True when ``mapping`` has a plain ``rules`` key at column 0 of ``line`` (0-based).

    Checked on the parsed skeleton: the ``rules:`` line the cut was made at is the
    top-level key, not text inside a quoted scalar.
    """
    if not isinstance(mapping, MappingNode):
        return False
    for key, _ in mapping.value:
        if (
            isinstance(key, ScalarNode)
            and key.value == "rules"
            and key.start_mark.line == line
            and key.start_mark.column == 0
        ):
            return True
    return False
