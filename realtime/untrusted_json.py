"""JSON from untrusted peers: parsed without recursion errors or unbounded nesting, and shown as
bounded, printable previews in logs and the rejected list. `realtime.protocol` re-exports these."""
from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32  # deepest JSON nesting of anything a client sends (the gateway's default)


class TooDeep(ValueError):
    """JSON nested deeper than the limit."""


def too_deep(doc: Any, limit: int) -> bool:
    """Whether `doc` nests lists/dicts deeper than `limit` (iterative: depth cannot recurse)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads for untrusted text: ValueError (never RecursionError) when it is not JSON,
    TooDeep when it nests deeper than `max_depth`."""
    try:
        doc = json.loads(text)
    except RecursionError:
        doc = None
        deep = True
    else:
        deep = too_deep(doc, max_depth)
    if deep:
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    return doc


def preview(payload: Any, limit: int = 1000) -> str:
    """A bounded, printable copy of untrusted data for logs and the rejected list."""
    if isinstance(payload, str):
        text = payload
    else:
        try:
            text = json.dumps(payload, default=repr, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError):
            text = repr(payload)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more chars)"
