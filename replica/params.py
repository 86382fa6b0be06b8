"""Declared parameters of a model: name, meaning, domain, default, and strict parsing.

Values given as strings (the command line) are parsed by a regular expression
for decimal numbers or matched against a fixed list of names; nothing a user
types is ever evaluated.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import sympy

from .errors import ParameterError

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")


def parse_number(name: str, text: str) -> float:
    """Parse a decimal number; anything else is a :class:`ParameterError`."""
    text = text.strip()
    if not _NUMBER.match(text):
        raise ParameterError(f"parameter {name!r}: {text!r} is not a decimal number")
    return float(text)


@dataclass(frozen=True)
class Interval:
    """A real interval; ``None`` bounds are infinite."""

    lower: float | None = None
    upper: float | None = None
    lower_closed: bool = False
    upper_closed: bool = False

    def contains(self, x: float) -> bool:
        if isinstance(x, float) and math.isnan(x):
            return False
        if self.lower is not None:
            if x < self.lower or (x == self.lower and not self.lower_closed):
                return False
        if self.upper is not None:
            if x > self.upper or (x == self.upper and not self.upper_closed):
                return False
        return True

    def __str__(self) -> str:
        lo = "-inf" if self.lower is None else f"{self.lower:g}"
        hi = "inf" if self.upper is None else f"{self.upper:g}"
        left = "[" if self.lower_closed and self.lower is not None else "("
        right = "]" if self.upper_closed and self.upper is not None else ")"
        return f"{left}{lo}, {hi}{right}"


KINDS = ("real", "integer", "categorical", "array")

REAL = Interval()
POSITIVE = Interval(0.0, None)
NONNEGATIVE = Interval(0.0, None, lower_closed=True)
UNIT_OPEN = Interval(0.0, 1.0)


@dataclass(frozen=True)
class Parameter:
    """A model parameter.

    ``kind`` is ``"real"`` (``domain`` an :class:`Interval`), ``"integer"``,
    ``"categorical"`` (``choices`` a tuple of names) or ``"array"`` (a vector or
    matrix of reals: ``shape`` says which, see :func:`parse_array`; the value is a
    hashable tuple, of tuples for a matrix). ``default=None`` means optional:
    absent unless the user sets it. Array parameters, like categorical ones, are
    part of the derivation's key (their numbers may be built into the expressions)
    and are not arguments of the compiled functions.
    """

    name: str
    meaning: str
    domain: Interval = REAL
    default: object = None
    kind: str = "real"
    choices: tuple = ()
    latex: str | None = None
    #: a categorical parameter that only asks for extra numerics (a phase boundary, thresholds)
    #: and leaves the free energy unchanged sets this False: it is not part of the derivation's key
    changes_derivation: bool = True
    #: array parameters: "vector", "matrix" (rows of equal length) or "rows" (rows of any lengths)
    shape: str = "vector"
    #: array parameters: words for the expected size, e.g. "dim x dim, symmetric positive definite"
    shape_text: str = ""
    symbol: sympy.Symbol = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind == "array" and self.shape not in ("vector", "matrix", "rows"):
            raise ValueError(f"parameter {self.name!r}: shape {self.shape!r} is not vector, matrix or rows")
        assumptions = {"real": True}
        if self.kind == "real" and self.domain.lower is not None and self.domain.lower >= 0:
            assumptions["positive" if (self.domain.lower > 0 or not self.domain.lower_closed) else "nonnegative"] = True
        object.__setattr__(self, "symbol", sympy.Symbol(self.latex or self.name, **assumptions))

    @property
    def domain_text(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(self.choices)
        if self.kind == "array":
            what = {"vector": "a vector", "matrix": "a matrix", "rows": "rows"}[self.shape]
            return what + (f" ({self.shape_text})" if self.shape_text else "") + f": {_array_syntax(self.shape)}"
        return str(self.domain) + (" (integer)" if self.kind == "integer" else "")

    def parse(self, value):
        """Return the validated value (float, int or name) or raise ParameterError."""
        if self.kind == "categorical":
            text = str(value).strip()
            if text not in self.choices:
                raise ParameterError(
                    f"parameter {self.name!r}: {text!r} is not allowed; choose one of {', '.join(self.choices)}")
            return text
        if self.kind == "array":
            return parse_array(self.name, value, self.shape)
        if isinstance(value, str):
            if self.kind == "integer":
                if not _INTEGER.match(value.strip()):
                    raise ParameterError(f"parameter {self.name!r}: {value!r} is not an integer")
                x = int(value)
            else:
                x = parse_number(self.name, value)
        elif isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ParameterError(f"parameter {self.name!r}: {value!r} is not a number")
        else:
            x = int(value) if self.kind == "integer" else value
        if self.kind == "real" and not _is_mp(x):
            x = float(x)
            if not math.isfinite(x):
                raise ParameterError(f"parameter {self.name!r}={x} is not a finite number; allowed {self.domain_text}")
        if not self.domain.contains(x):
            raise ParameterError(
                f"parameter {self.name!r}={_show(x)} is out of range; allowed {self.domain_text}")
        return x

    def describe(self) -> dict:
        out = {"name": self.name, "meaning": self.meaning, "domain": self.domain_text,
               "default": self.default, "kind": self.kind}
        if self.kind == "array":
            out["shape"] = self.shape
        return out


def parse_array(name: str, value, shape: str = "vector") -> tuple:
    """A vector (tuple of floats), a matrix (tuple of equal-length row tuples) or ``rows`` (tuple of
    row tuples of any lengths) of finite reals.

    From a string: entries separated by ``,``, rows by ``;`` (``"2,0.5;0.5,1"``), each entry a
    decimal number (:func:`parse_number`); a vector may not contain ``;``. From Python: a list,
    tuple or numpy array of numbers (nested once for a matrix or rows); a flat sequence given for
    a matrix is one row. Anything else is a :class:`ParameterError`.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ParameterError(f"parameter {name!r}: an empty value; expected {_array_syntax(shape)}")
        rows = text.split(";")
        if shape == "vector" and len(rows) > 1:
            raise ParameterError(f"parameter {name!r}: {text!r} has ';' but is a vector; expected "
                                 f"{_array_syntax(shape)}")
        table = []
        for row in rows:
            if not row.strip():
                raise ParameterError(f"parameter {name!r}: {text!r} has an empty row; expected "
                                     f"{_array_syntax(shape)}")
            table.append([_array_entry(name, e) for e in row.split(",")])
    else:
        if isinstance(value, (bytes, dict, set)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
            raise ParameterError(f"parameter {name!r}: {value!r} is not a {_array_word(shape)} of numbers")
        try:
            items = list(value)
        except TypeError as exc:            # a 0-d numpy array
            raise ParameterError(f"parameter {name!r}: {value!r} is not a {_array_word(shape)} of numbers") from exc
        if not items:
            raise ParameterError(f"parameter {name!r}: an empty value; expected {_array_syntax(shape)}")
        nested = [hasattr(e, "__len__") and not isinstance(e, str) for e in items]
        if shape == "vector" or not any(nested):
            if any(nested):
                raise ParameterError(f"parameter {name!r}: {value!r} is not a vector of numbers")
            table = [[_array_entry(name, e) for e in items]]
        else:
            if not all(nested):
                raise ParameterError(f"parameter {name!r}: {value!r} mixes numbers and rows")
            table = [[_array_entry(name, e) for e in row] for row in items]
            if any(not row for row in table):
                raise ParameterError(f"parameter {name!r}: {value!r} has an empty row")
    if shape == "matrix" and any(len(row) != len(table[0]) for row in table):
        raise ParameterError(f"parameter {name!r}: rows of different lengths "
                             f"({', '.join(str(len(r)) for r in table)}); a matrix needs equal rows")
    if shape == "vector":
        return tuple(table[0])
    return tuple(tuple(row) for row in table)


def _array_syntax(shape: str) -> str:
    return "numbers separated by ','" if shape == "vector" else "rows separated by ';', entries by ','"


def _array_word(shape: str) -> str:
    return {"vector": "vector", "matrix": "matrix"}.get(shape, "list of rows")


def _array_entry(name: str, e) -> float:
    if isinstance(e, str):
        x = parse_number(name, e)
    elif isinstance(e, bool) or not isinstance(e, (int, float)) and not hasattr(e, "__float__"):
        raise ParameterError(f"parameter {name!r}: entry {e!r} is not a number")
    else:
        x = float(e)
    if not math.isfinite(x):
        raise ParameterError(f"parameter {name!r}: entry {x} is not a finite number")
    return x


def _is_mp(x) -> bool:
    return type(x).__module__.startswith("mpmath")


def _show(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class OrderParameter:
    """A saddle-point variable with its domain and starting points for the solver.

    ``domain`` must be a bounded or half-bounded :class:`Interval`; the
    solver keeps iterates strictly inside open ends.
    """

    name: str
    meaning: str
    domain: Interval = UNIT_OPEN
    guesses: tuple = (0.5,)
    latex: str | None = None
    #: a categorical parameter that only asks for extra numerics (a phase boundary, thresholds)
    #: and leaves the free energy unchanged sets this False: it is not part of the derivation's key
    changes_derivation: bool = True
    symbol: sympy.Symbol = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "symbol", sympy.Symbol(self.latex or self.name, real=True))


@dataclass(frozen=True)
class Observable:
    name: str
    meaning: str


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``name=value`` (from ``--set``)."""
    if "=" not in text:
        raise ParameterError(f"--set {text!r}: expected name=value")
    name, value = text.split("=", 1)
    name = name.strip()
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise ParameterError(f"--set {text!r}: {name!r} is not a parameter name")
    return name, value.strip()


def parse_sweep(text: str) -> tuple[str, float, float, int]:
    """Parse ``name=START:STOP:NUM``."""
    name, spec = parse_assignment(text)
    parts = spec.split(":")
    if len(parts) != 3:
        raise ParameterError(f"--sweep {text!r}: expected name=START:STOP:NUM")
    start = parse_number(name, parts[0])
    stop = parse_number(name, parts[1])
    if not _INTEGER.match(parts[2].strip()) or int(parts[2]) < 1:
        raise ParameterError(f"--sweep {text!r}: NUM must be an integer >= 1, got {parts[2]!r}")
    return name, start, stop, int(parts[2])
