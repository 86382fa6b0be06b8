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


REAL = Interval()
POSITIVE = Interval(0.0, None)
NONNEGATIVE = Interval(0.0, None, lower_closed=True)
UNIT_OPEN = Interval(0.0, 1.0)


@dataclass(frozen=True)
class Parameter:
    """A model parameter.

    ``kind`` is ``"real"`` (``domain`` an :class:`Interval`), ``"integer"``
    or ``"categorical"`` (``choices`` a tuple of names). ``default=None``
    means optional: absent unless the user sets it.
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
    symbol: sympy.Symbol = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        assumptions = {"real": True}
        if self.kind == "real" and self.domain.lower is not None and self.domain.lower >= 0:
            assumptions["positive" if (self.domain.lower > 0 or not self.domain.lower_closed) else "nonnegative"] = True
        object.__setattr__(self, "symbol", sympy.Symbol(self.latex or self.name, **assumptions))

    @property
    def domain_text(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(self.choices)
        return str(self.domain) + (" (integer)" if self.kind == "integer" else "")

    def parse(self, value):
        """Return the validated value (float, int or name) or raise ParameterError."""
        if self.kind == "categorical":
            text = str(value).strip()
            if text not in self.choices:
                raise ParameterError(
                    f"parameter {self.name!r}: {text!r} is not allowed; choose one of {', '.join(self.choices)}")
            return text
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
        return {"name": self.name, "meaning": self.meaning, "domain": self.domain_text,
                "default": self.default, "kind": self.kind}


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
