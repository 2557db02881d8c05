"""What a lesson's text says about its results, recorded so that a test can hold the text to them.

A lesson states findings ("the index falls from conv1 to fc") and quotes a few numbers. The notebook
records each finding as a *claim*: a comparison between values of its own `results.json`, addressed by
JSON pointers, with a margin wide enough that a rerun on another machine does not flip it. It records
each number the prose quotes as a *quote*: the printed text and where its value lives. `Claims.as_dict()`
goes into `results["claims"]`; `tests/test_claims.py` re-evaluates every claim against the committed
results and checks that every quoted text still matches its value and still appears in the lesson.

>>> results = {"index": {"conv1": 0.42, "fc": 0.03}, "takeover": "fc"}
>>> claims = Claims(results)
>>> claims.compare("the index falls from conv1 to fc", "/index/conv1", ">", "/index/fc", margin=0.1)
True
>>> claims.compare("attacks take over at fc", "/takeover", "==", "fc")
True
>>> claims.quote("/index/conv1", "{:.2f}")
'0.42'
>>> failed(claims.as_dict(), results)
[]
>>> results["index"]["fc"] = 0.40          # a rerun that contradicts the text
>>> failed(claims.as_dict(), results)
['the index falls from conv1 to fc']
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["OPERATORS", "Claims", "evaluate", "failed", "quote_matches", "resolve"]

OPERATORS = (">", "<", ">=", "<=", "==", "~=", "in")
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?")


def resolve(results: Any, ref: Any) -> Any:
    """The value a JSON pointer (a string starting with "/") names in `results`; other values pass."""
    if not (isinstance(ref, str) and ref.startswith("/")):
        return ref
    value = results
    for part in ref[1:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"pointer {ref!r} names nothing in the results (stopped at {key!r})") from None
    return value


def evaluate(claim: Mapping[str, Any], results: Any) -> bool:
    """Whether a recorded claim holds on `results`.

    ``>``: left > right + margin; ``<``: left < right - margin (``>=`` and ``<=`` alike);
    ``==``: equal; ``~=``: |left - right| <= margin; ``in``: left is one of the values in right.
    A value that is missing (null) makes a comparison false.
    """
    left, right = resolve(results, claim["left"]), resolve(results, claim["right"])
    op, margin = claim["op"], claim.get("margin", 0.0)
    if op == "==":
        return left == right
    if op == "in":
        return left in right
    if left is None or right is None:
        return False
    if op == ">":
        return left > right + margin
    if op == ">=":
        return left >= right + margin
    if op == "<":
        return left < right - margin
    if op == "<=":
        return left <= right - margin
    if op == "~=":
        return abs(left - right) <= margin
    raise ValueError(f"op must be one of {OPERATORS}, got {op!r}.")


def quote_matches(quote: Mapping[str, Any], results: Any) -> bool:
    """Whether a quoted text still states its value, within one unit of its last printed digit.

    One unit (rather than half of one) lets a rerun elsewhere move a value across a rounding
    boundary without making the text wrong.
    """
    value = resolve(results, quote["pointer"])
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    match = _NUMBER.search(quote["text"])
    if match is None:
        return False
    number = match.group().replace(",", "").replace("−", "-")
    decimals = len(number.split(".")[1]) if "." in number else 0
    scale = 100.0 if "%" in quote["format"] else 1.0
    return abs(value * scale - float(number)) <= 10.0 ** -decimals * (1 + 1e-9)


def failed(record: Mapping[str, Any], results: Any) -> list[str]:
    """Statements of the claims, and texts of the quotes, that `results` no longer support."""
    bad = [claim["statement"] for claim in record.get("claims", []) if not evaluate(claim, results)]
    bad += [f"quote {q['text']!r} ({q['pointer']})" for q in record.get("quotes", [])
            if not quote_matches(q, results)]
    return bad


class Claims:
    """Collects a lesson's claims and quotes against its results dict, evaluating each as it is made."""

    def __init__(self, results: Mapping[str, Any]) -> None:
        self.results = results
        self.claims: list[dict[str, Any]] = []
        self.quotes: list[dict[str, Any]] = []
        self.constants: list[dict[str, str]] = []

    def compare(self, statement: str, left: Any, op: str, right: Any, margin: float = 0.0) -> bool:
        """Record the claim "`left` `op` `right`" (pointers or values, see `evaluate`); return if it holds."""
        if op not in OPERATORS:
            raise ValueError(f"op must be one of {OPERATORS}, got {op!r}.")
        if not margin >= 0:
            raise ValueError(f"margin must be >= 0, got {margin!r}.")
        claim = {"statement": statement, "left": left, "op": op, "right": right, "margin": margin}
        claim["holds"] = evaluate(claim, self.results)
        self.claims.append(claim)
        return claim["holds"]

    def quote(self, pointer: str, format: str = "{:.2f}") -> str:
        """Record that the prose quotes the value at `pointer`, printed with `format`; return the text."""
        text = format.format(resolve(self.results, pointer))
        self.quotes.append({"text": text, "pointer": pointer, "format": format})
        return text

    def constant(self, text: str, reason: str) -> None:
        """Record a number the prose prints that is not a result (a parameter, a textbook value)."""
        self.constants.append({"text": text, "reason": reason})

    def as_dict(self) -> dict[str, Any]:
        """The record for `results["claims"]`."""
        return {"claims": self.claims, "quotes": self.quotes, "constants": self.constants}

    def report(self) -> str:
        """One line per claim and quote: what it says and whether the results support it."""
        lines = [f"{'holds' if c['holds'] else 'FAILS':>5}  {c['statement']}" for c in self.claims]
        for q in self.quotes:
            status = "ok" if quote_matches(q, self.results) else "FAILS"
            lines.append(f"{status:>5}  quote {q['text']} = {q['pointer']}")
        return "\n".join(lines)
