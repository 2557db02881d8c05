"""What a lesson's text says about its results, declared outside the lesson and held to them by tests.

A lesson states findings ("the index falls from conv1 to fc") and quotes a few numbers. Each lesson's
findings are declared in `tests/claims/<lesson>.py`, a function `findings(results) -> Claims` of its
`results.json` (the notebook itself holds no bookkeeping). A finding is a *claim*: a comparison between
values of the results, addressed by JSON pointers, with a margin. Each number the prose quotes is a
*quote*: the printed text and where its value lives. `tests/test_claims.py` evaluates every lesson's
findings on its committed results and checks that every quoted text still matches its value and still
appears in the lesson; `python -m helpers.run --profile full` evaluates them right after each lesson
runs (`check_findings`).

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

A finding about values measured on sampled images holds only with its statistical support: where the
results store a value's bootstrap replicates (or interval) under ``results["support"][pointer]``, the
whole interval of the difference must lie on the side the words claim. Here the point values differ by
0.03 but the images leave the difference anywhere between -0.01 and 0.07:

>>> results = {"index": {"conv1": 0.42, "fc": 0.39}, "support": {
...     "/index/conv1": [0.40, 0.41, 0.42, 0.43, 0.44], "/index/fc": [0.41, 0.38, 0.39, 0.36, 0.37]}}
>>> claim = {"statement": "the index falls", "left": "/index/conv1", "op": ">", "right": "/index/fc"}
>>> evaluate(claim, results), [round(end, 2) for end in interval(claim, results)]
(False, [-0.01, 0.07])
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat

from helpers.io import FIGURES_DIR, REPO_ROOT
from helpers.statistics import support_interval

__all__ = ["FINDINGS_DIR", "OPERATORS", "Claims", "check_findings", "evaluate", "failed", "headline_prose",
           "interval", "lesson_findings", "lesson_prose", "quote_matches", "quote_precision_supported",
           "quote_texts", "quoted_text", "resolve", "series_results", "support"]

FINDINGS_DIR = REPO_ROOT / "tests" / "claims"
"""One module per lesson, `<lesson>.py`, whose `findings(results)` declares what its text states."""

OPERATORS = (">", "<", ">=", "<=", "==", "~=", "in")
_NUMERIC = (">", "<", ">=", "<=", "~=")
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?")
_FENCED = re.compile(r"```.*?```", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK_TARGET = re.compile(r"\]\([^)]*\)|https?://\S+|arXiv[: ]\s*\d{4}\.\d{4,5}")


def _is_pointer(ref: Any) -> bool:
    return isinstance(ref, str) and ref.startswith("/")


def resolve(results: Any, ref: Any) -> Any:
    """The value a JSON pointer (a string starting with "/") names in `results`; other values pass."""
    if not _is_pointer(ref):
        return ref
    value = results
    for part in ref[1:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, ValueError, TypeError):
            raise KeyError(f"pointer {ref!r} names nothing in the results (stopped at {key!r})") from None
    return value


def support(results: Any, ref: Any) -> Any:
    """The statistical support `results` stores for the value a pointer names (its bootstrap replicates
    or interval, see `helpers.statistics`), or None: a number that is not a pointer, or one without."""
    if not _is_pointer(ref) or not isinstance(results, Mapping):
        return None
    return results.get("support", {}).get(ref)


def interval(claim: Mapping[str, Any], results: Any) -> tuple[float, float] | None:
    """The 95% interval of left - right of a numeric claim when either side has support, else None."""
    if claim["op"] not in _NUMERIC:
        return None
    supports = [support(results, claim[side]) for side in ("left", "right")]
    if all(s is None for s in supports):
        return None
    left, right = (s if s is not None else resolve(results, claim[side])
                   for s, side in zip(supports, ("left", "right")))
    if left is None or right is None:
        return float("nan"), float("nan")
    return support_interval(left, right)


def evaluate(claim: Mapping[str, Any], results: Any) -> bool:
    """Whether a recorded claim holds on `results`.

    ``>``: left > right + margin; ``<``: left < right - margin (``>=`` and ``<=`` alike; a negative
    margin allows the stated amount the other way: "at most a quarter step further" is ``<`` with -0.25);
    ``==``: equal; ``~=``: |left - right| <= margin; ``in``: left is one of the values in right.
    A value that is missing (null) makes a comparison false. Where either side has support in
    `results` (see `support`), a numeric claim holds only when the whole interval of left - right
    does (`interval`): above the margin for ``>``, within plus or minus the margin for ``~=``.
    """
    left, right = resolve(results, claim["left"]), resolve(results, claim["right"])
    op, margin = claim["op"], claim.get("margin", 0.0)
    if op == "==":
        return left == right
    if op == "in":
        return left in right
    if left is None or right is None:
        return False
    if op not in _NUMERIC:
        raise ValueError(f"op must be one of {OPERATORS}, got {op!r}.")
    low, high = interval(claim, results) or (left - right, left - right)
    return {">": low > margin, ">=": low >= margin, "<": high < -margin, "<=": high <= -margin,
            "~=": -margin <= low and high <= margin}[op]


def _printed(text: str) -> tuple[re.Match | None, int]:
    """The first number printed in `text`, and how many decimals it prints."""
    match = _NUMBER.search(text)
    return match, len(match.group().split(".")[1]) if match and "." in match.group() else 0


def _scale(quote: Mapping[str, Any]) -> float:
    """100 for a quote printed as a percentage, else 1."""
    return 100.0 if "%" in quote["format"] else 1.0


def quote_matches(quote: Mapping[str, Any], results: Any) -> bool:
    """Whether a quoted text still states its value, within one unit of its last printed digit.

    One unit (rather than half of one) lets a rerun elsewhere move a value across a rounding
    boundary without making the text wrong.
    """
    value = resolve(results, quote["pointer"])
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return False
    match, decimals = _printed(quote["text"])
    if match is None:
        return False
    number = float(match.group().replace(",", "").replace("−", "-"))
    return abs(value * _scale(quote) - number) <= 10.0 ** -decimals * (1 + 1e-9)


def quote_texts(quote: Mapping[str, Any], results: Any) -> list[str]:
    """The texts that state a quote's value: printed with its format, then every other printed value
    within one unit of the last printed digit of it (a rerun may move a value across a rounding
    boundary) or, where the value has support, of its 95% interval (a rerun may land anywhere in it),
    the closest to the value first.

    >>> quote_texts({"pointer": "/share", "format": "{:.1%}"}, {"share": 0.8534})
    ['85.3%', '85.4%', '85.2%']
    >>> quote_texts({"pointer": "/share", "format": "{:.0%}"},
    ...             {"share": 0.8534, "support": {"/share": {"interval": [0.83, 0.87]}}})
    ['85%', '86%', '84%', '87%', '83%', '88%', '82%']
    """
    value = resolve(results, quote["pointer"])
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return []
    text = quote["format"].format(value)
    match, decimals = _printed(text)
    if match is None:
        return [text]
    number = match.group().replace("−", "-")
    unit, scale = 10.0 ** -decimals, _scale(quote)
    printed = round(float(number.replace(",", "")) / unit)
    low, high = _quote_interval(quote, results) or (value, value)
    first, last = round(low * scale / unit), round(high * scale / unit)
    steps = range(min(printed, first) - 1, max(printed, last) + 2)
    comma = "," if "," in number else ""
    others = [text[:match.start()] + f"{step * unit:{comma}.{decimals}f}" + text[match.end():]
              for step in sorted(steps, key=lambda step: abs(step * unit - value * scale)) if step != printed]
    return [text] + others


def _quote_interval(quote: Mapping[str, Any], results: Any) -> tuple[float, float] | None:
    """The 95% interval of a quoted value, where it has support."""
    found = support(results, quote["pointer"])
    return None if found is None else support_interval(found)


def quote_precision_supported(quote: Mapping[str, Any], results: Any) -> bool:
    """Whether a quote prints no more digits than its uncertainty supports: one unit of its last digit is
    at least a twentieth of its 95% interval (always, for a value without support).

    >>> quote = {"pointer": "/share", "format": "{:.1%}"}
    >>> quote_precision_supported(quote, {"share": 0.8534, "support": {"/share": {"interval": [0.81, 0.89]}}})
    False
    >>> quote_precision_supported({**quote, "format": "{:.0%}"},
    ...                           {"share": 0.8534, "support": {"/share": {"interval": [0.81, 0.89]}}})
    True
    """
    ends = _quote_interval(quote, results)
    if ends is None:
        return True
    _, decimals = _printed(quote["format"].format(resolve(results, quote["pointer"])))
    return 10.0 ** -decimals * (1 + 1e-9) >= (ends[1] - ends[0]) * _scale(quote) / 20


def quoted_text(quote: Mapping[str, Any], results: Any, prose: str) -> str | None:
    """The text of `quote_texts` that `prose` prints as a number of its own, or None."""
    return next((text for text in quote_texts(quote, results)
                 if re.search(rf"(?<![\w.]){re.escape(text)}(?![\d])", prose)), None)


def failed(record: Mapping[str, Any], results: Any, prose: str | None = None) -> list[str]:
    """Statements of the claims, and texts of the quotes, that `results` no longer support.

    With the lesson's `prose`, a quote holds when the prose prints its value (`quoted_text`);
    without it, when its recorded text states the value (`quote_matches`).
    """
    bad = [claim["statement"] + _interval_text(claim, results) for claim in record.get("claims", [])
           if not evaluate(claim, results)]
    bad += [f"quote {q['text']!r} ({q['pointer']})" for q in record.get("quotes", [])
            if not (quote_matches(q, results) if prose is None else quoted_text(q, results, prose))]
    return bad


def _interval_text(claim: Mapping[str, Any], results: Any) -> str:
    """How far a failing claim's support reaches, for its failure line ("" without support)."""
    ends = interval(claim, results)
    return "" if ends is None else f" (95% interval of the difference: {ends[0]:+.3g} to {ends[1]:+.3g})"


def lesson_prose(notebook: Path) -> str:
    """The lesson's markdown, without code (fenced blocks, inline code) and link targets."""
    nb = nbformat.read(notebook, as_version=4)
    return _prose("\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown"))


def headline_prose(readme: Path) -> str:
    """The README's headline section (between its ``site:headline`` markers), as `lesson_prose` reads text."""
    text = Path(readme).read_text(encoding="utf-8")
    start, end = text.index("<!-- site:headline -->"), text.index("<!-- /site:headline -->")
    return _prose(re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text[start:end].replace("<!-- site:headline -->", "")))


def _prose(text: str) -> str:
    return _LINK_TARGET.sub(" ", _INLINE_CODE.sub(" ", _FENCED.sub(" ", text)))


def series_results(figures_dir: Path = FIGURES_DIR) -> dict[str, Any]:
    """Every lesson's results under its name (``/03_homogeneity/trained/...``), with their support keyed
    the same way, for findings that span the lessons: the README's headline (`tests/claims/readme.py`)."""
    combined: dict[str, Any] = {"support": {}}
    for path in sorted(Path(figures_dir).glob("*/results.json")):
        results, lesson = json.loads(path.read_text()), path.parent.name
        combined["support"] |= {f"/{lesson}{p}": v for p, v in results.pop("support", {}).items()}
        combined[lesson] = results
    return combined


class Claims:
    """Collects a lesson's claims and quotes against its results dict, evaluating each as it is made."""

    def __init__(self, results: Mapping[str, Any]) -> None:
        self.results = results
        self.claims: list[dict[str, Any]] = []
        self.quotes: list[dict[str, Any]] = []
        self.constants: list[dict[str, str]] = []
        self.unsupported: list[dict[str, str]] = []

    def compare(self, statement: str, left: Any, op: str, right: Any, margin: float = 0.0) -> bool:
        """Record the claim "`left` `op` `right`" (pointers or values, see `evaluate`); return if it holds."""
        if op not in OPERATORS:
            raise ValueError(f"op must be one of {OPERATORS}, got {op!r}.")
        if not math.isfinite(margin) or (op == "~=" and margin < 0):
            raise ValueError(f"margin must be a finite number (>= 0 for '~='), got {margin!r}.")
        claim = {"statement": statement, "left": left, "op": op, "right": right, "margin": margin}
        claim["holds"] = evaluate(claim, self.results)
        claim["interval"] = interval(claim, self.results)
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

    def without_support(self, pattern: str, reason: str) -> None:
        """Declare that the values whose pointers match `pattern` (a regular expression) are compared
        without statistical support, and why (a count, a chance level, an end of an interval...)."""
        re.compile(pattern)
        self.unsupported.append({"pattern": pattern, "reason": reason})

    def lacking_support(self) -> list[str]:
        """Pointers of numeric claims that have no support and match no `without_support` pattern."""
        numeric = [claim for claim in self.claims if claim["op"] in _NUMERIC]
        pointers = {claim[side] for claim in numeric for side in ("left", "right")
                    if _is_pointer(claim[side])}
        return sorted(p for p in pointers if support(self.results, p) is None
                      and not any(re.search(u["pattern"], p) for u in self.unsupported))

    def as_dict(self) -> dict[str, Any]:
        """The record for `results["claims"]`."""
        return {"claims": self.claims, "quotes": self.quotes, "constants": self.constants}



def lesson_findings(lesson: str, results: Mapping[str, Any], findings_dir: Path = FINDINGS_DIR) -> Claims:
    """The findings and quotes of `lesson` (e.g. "03_homogeneity") on `results`, from its module."""
    path = Path(findings_dir) / f"{lesson}.py"
    if not path.exists():
        raise FileNotFoundError(f"{lesson} declares no findings: {path} is missing.")
    spec = importlib.util.spec_from_file_location(f"findings_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.findings(results)


def check_findings(
    lesson: str, results_path: Path, notebook: Path, findings_dir: Path = FINDINGS_DIR
) -> list[str]:
    """Print one line saying whether `lesson`'s findings hold on the results at `results_path` and its
    quotes are printed in the prose of `notebook`, listing those that fail; return them."""
    findings = lesson_findings(lesson, json.loads(Path(results_path).read_text()), findings_dir)
    bad = failed(findings.as_dict(), findings.results, lesson_prose(notebook))
    total = len(findings.claims) + len(findings.quotes)
    if bad:
        print(f"{lesson}: {len(bad)} of {total} findings and quotes FAIL on these results:", flush=True)
        for statement in bad:
            print(f"    FAILS  {statement}", flush=True)
    else:
        print(f"{lesson}: all {total} findings and quotes hold", flush=True)
    return bad
