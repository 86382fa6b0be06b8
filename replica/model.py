"""The model contract, and the derivation every model gets from its free energy.

A model is one class in one file. It declares

* ``name``, ``title``, ``description``;
* ``parameters`` (:class:`~replica.params.Parameter`, with domains and defaults);
* ``order_parameters`` (:class:`~replica.params.OrderParameter`);
* ``observables`` (:class:`~replica.params.Observable`);
* :meth:`Model.free_energy` -- a SymPy expression in the symbols of the
  parameters and order parameters (Gaussian averages allowed);
* optionally :meth:`Model.observable_expressions` (expressions, usually
  derivatives of the free energy), :meth:`Model.limits` (closed forms derived
  from the free energy, e.g. a capacity), :meth:`Model.stability` (an
  eigenvalue whose sign decides the stability of the saddle point),
  :meth:`Model.equation_scales` (positive factors that make the saddle-point
  equations O(1)), ``select`` (which of several saddle points is physical),
  :meth:`Model.simulate_trial` and ``references`` (known values with sources).

Everything else -- the saddle-point equations (the gradient of the free
energy), their Jacobian, the compiled numpy and mpmath functions -- is
derived here by :class:`Derivation`.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sympy

from .errors import ParameterError
from .numeric import compile_mpmath, compile_numpy
from .params import Parameter
from .symbolic import drop_null_deltas, stein_all


@dataclass(frozen=True)
class Reference:
    """A known value: ``observable`` at ``params`` equals ``value`` within ``tol`` (source cited)."""

    params: dict
    observable: str
    value: float
    tol: float
    source: str


@dataclass(frozen=True)
class DerivedLimit:
    """A limit's result with the intermediate steps shown by ``derive`` (``(lhs_latex, expr, note)``)."""

    value: sympy.Expr
    steps: tuple = ()


@dataclass(frozen=True)
class Stability:
    """An eigenvalue of the saddle point's Hessian in replica space; ``stable`` iff ``> 0``."""

    name: str
    expression: sympy.Expr
    source: str = ""


class Model:
    """Base class of every model (see the module docstring for the contract)."""

    name: str = ""
    title: str = ""
    description: str = ""
    parameters: tuple = ()
    order_parameters: tuple = ()
    observables: tuple = ()
    #: name of the free energy for printing (e.g. "free entropy")
    free_energy_name: str = "free energy"
    #: the replica ansatz of the free energy ("replica symmetric", "1RSB", ...); empty for a
    #: model without replicas. Stability verdicts and LaTeX labels use it.
    ansatz: str = ""
    #: which saddle point is physical when several solve the equations:
    #: "max" or "min" of the free energy
    select: str = "max"
    #: observables the simulator measures (a subset of ``observables``)
    simulated_observables: tuple = ()
    #: finite-size corrections of the simulation: powers of 1/N in the extrapolation
    finite_size_powers: tuple = (1,)
    references: tuple = ()
    #: theory-vs-simulation checks run by ``replica verify``: dicts with
    #: params, n (sizes), trials, seed; ``quick`` variants must take seconds
    verify_compares: tuple = ()
    quick_compares: tuple = ()

    # -- the model's physics ------------------------------------------------
    def free_energy(self, choices: dict) -> sympy.Expr:
        raise NotImplementedError

    def observable_expressions(self, F: sympy.Expr, choices: dict) -> dict:
        """Observables as expressions in parameters and order parameters (default: the order parameters)."""
        return {op.name: op.symbol for op in self.order_parameters}

    def limits(self, F: sympy.Expr, choices: dict) -> dict:
        """Observables that need no saddle point (closed forms derived from ``F``)."""
        return {}

    def stability(self, F: sympy.Expr, choices: dict):
        return None

    def equation_scales(self, choices: dict) -> list:
        """Positive factors multiplying each dF/d(order parameter) (default 1)."""
        return [sympy.Integer(1)] * len(self.order_parameters)

    def starting_points(self, params: dict):
        """Optional: the solver's starting points at these parameters (tuples of order-parameter
        values), e.g. one when the saddle point is known to be unique. Default: None, meaning
        every combination of the order parameters' ``guesses``."""
        return None

    def starting_points_batch(self, params_list: list) -> list:
        """Starting points at many parameter points at once (a sweep): one entry a point, each as
        :meth:`starting_points` returns. Default: :meth:`starting_points` at each point. A model
        overrides it when its starts come from a computation that vectorises over points."""
        return [self.starting_points(p) for p in params_list]

    def stable_equations(self, choices: dict):
        """Optional: the saddle-point equations rewritten for floating point (e.g. without a
        cancellation of large terms near a boundary). Used by the solver in place of the
        derived ones; the contract battery proves they are equal. Default: None."""
        return None

    def variant(self, params: dict) -> "Model":
        """The concrete model for these (resolved) parameters. A model whose order parameters
        depend on a categorical choice (a learning rule, an RSB level) returns one subclass a
        choice; everything downstream (derivation, solver, simulation) works on that. Default: self."""
        return self

    def extra_observables(self, params: dict, solution) -> dict:
        """Optional: observables computed numerically from a converged saddle point (``solution``:
        the order parameters' values; None where the model has no saddle point at these parameters),
        e.g. other branches of the same equations or a phase boundary. Default: none."""
        return {}

    def extra_observables_batch(self, plist: list, solutions: list):
        """Optional: :meth:`extra_observables` for the converged points of a sweep at once (a list
        of dicts in order), when that is much cheaper than one point at a time. Default: None."""
        return None

    def saddle_active(self, params: dict) -> bool:
        """Whether the saddle point is defined for these parameters (e.g. an optional load is set)."""
        return True

    def validate(self, params: dict) -> None:
        """Cross-parameter checks; raise ParameterError naming the parameter and its allowed range."""

    def simulated_for(self, params: dict) -> tuple:
        """The observables the simulator estimates at these parameters (default: all it measures)."""
        return self.simulated_observables

    def simulate_trial(self, params: dict, n: int, rng) -> dict:
        raise NotImplementedError(f"model {self.name!r} has no simulator")

    def simulation_reference(self, params: dict, n: int) -> dict:
        """Exact finite-N values of simulated observables, where known (e.g. Cover's formula)."""
        return {}

    # -- plumbing -------------------------------------------------------------
    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.parameters)
        raise ParameterError(f"model {self.name!r} has no parameter {name!r}; its parameters are: {known}")

    def resolve(self, given: dict) -> dict:
        """Parse and validate user parameters; fill defaults. Returns name -> value (None if unset)."""
        out = {}
        for name in given:
            self.parameter(name)
        for p in self.parameters:
            out[p.name] = p.parse(given[p.name]) if given.get(p.name) is not None else p.default
        self.validate(out)
        return out

    def choices(self, params: dict) -> dict:
        """The values that key the derivation: categorical choices (unless they leave it unchanged)
        and array parameters (tuples; their numbers may be built into the expressions)."""
        return {p.name: params[p.name] for p in self.parameters
                if p.kind in ("categorical", "array") and p.changes_derivation}

    @property
    def real_parameters(self) -> tuple:
        """The arguments of the compiled functions: real and integer parameters (not categorical or array)."""
        return tuple(p for p in self.parameters if p.kind not in ("categorical", "array"))

    def derivation(self, params: dict | None = None) -> "Derivation":
        choices = self.choices(params or {p.name: p.default for p in self.parameters})
        return _derivation(type(self), tuple(sorted(choices.items())))

    def _repr_html_(self) -> str:
        """The model in a notebook: its parameters (meaning, domain, default) and observables."""
        import html
        d = self.describe()
        par = "".join(f"<tr><td><code>{html.escape(p['name'])}</code></td><td>{html.escape(p['meaning'])}</td>"
                      f"<td>{html.escape(str(p['domain']))}</td><td>{html.escape(str(p['default']))}</td></tr>"
                      for p in d["parameters"])
        obs = "".join(f"<tr><td><code>{html.escape(o['name'])}</code></td><td>{html.escape(o['meaning'])}</td></tr>"
                      for o in d["observables"])
        return (f"<p><b>{html.escape(self.name)}</b>: {html.escape(self.title)}</p>"
                f"<p>{html.escape(self.description)}</p>"
                f"<table><tr><th>parameter</th><th>meaning</th><th>domain</th><th>default</th></tr>{par}</table>"
                f"<table><tr><th>observable</th><th>meaning</th></tr>{obs}</table>")

    def describe(self) -> dict:
        return {
            "name": self.name, "title": self.title, "description": self.description,
            "parameters": [p.describe() for p in self.parameters],
            "order_parameters": [{"name": o.name, "meaning": o.meaning, "domain": str(o.domain)}
                                 for o in self.order_parameters],
            "observables": [{"name": o.name, "meaning": o.meaning} for o in self.observables],
            "simulated_observables": list(self.simulated_observables),
        }


@functools.lru_cache(maxsize=None)
def _derivation(model_cls, choices: tuple) -> "Derivation":
    return Derivation(model_cls(), dict(choices))


@dataclass
class Derivation:
    """Everything derived from a model's free energy, symbolic and compiled (built lazily, cached)."""

    model: Model
    choices: dict
    free_energy: sympy.Expr = field(init=False)

    def _repr_latex_(self) -> str:
        """The derivation in a notebook: the free energy and its saddle-point equations (MathJax)."""
        from .latex import derivation_sections
        blocks = []
        for title, rows in derivation_sections(self.model, self.choices):
            for lhs, rhs, note in rows:
                from .latex import latex
                blocks.append(r"$$%s = %s$$" % (lhs, latex(rhs)))
        return "\n".join(blocks)

    def __post_init__(self):
        self.free_energy = self.model.free_energy(self.choices)

    @property
    def args(self) -> list:
        """Argument order of every compiled function: order parameters, then real parameters."""
        return [o.symbol for o in self.model.order_parameters] + [p.symbol for p in self.model.real_parameters]

    @functools.cached_property
    def gradient(self) -> list:
        """dF/d(order parameter), exactly as differentiated (unscaled, no rewriting)."""
        return [drop_null_deltas(sympy.diff(self.free_energy, o.symbol)) for o in self.model.order_parameters]

    @functools.cached_property
    def derived_equations(self) -> list:
        """The saddle-point equations: scaled gradient, Gaussian-integrated by parts, collected."""
        scales = self.model.equation_scales(self.choices)
        return [drop_null_deltas(stein_all(s * g)) for s, g in zip(scales, self.gradient)]

    @functools.cached_property
    def equations(self) -> list:
        """What the solver uses: the model's stable rewriting if it has one (tested equal), else the derived form."""
        stable = self.model.stable_equations(self.choices)
        return list(stable) if stable is not None else self.derived_equations

    @functools.cached_property
    def jacobian(self) -> list:
        """d(equation)/d(order parameter), differentiated without expanding or rewriting.

        Not expanded on purpose: expanding products such as ``(g(u) - u)^2``
        cancels terms of order ``1/(1-q)^2`` numerically near q -> 1 (measured:
        a wrong sign of the Gardner Jacobian at q = 0.997), and integrating by
        parts again cancels terms of order ``1/T^2`` at low temperature (SK at
        T = 1e-12). Where an entry is not finite (a removable singularity at a
        boundary, e.g. ``z/sqrt(q)`` at q = 0) the solver uses a one-sided
        finite difference instead.
        """
        ops = [o.symbol for o in self.model.order_parameters]
        return [[drop_null_deltas(sympy.diff(e, x)) for x in ops] for e in self.equations]

    @functools.cached_property
    def observables(self) -> dict:
        return {k: stein_all(v) for k, v in
                self.model.observable_expressions(self.free_energy, self.choices).items()}

    @functools.cached_property
    def _limits_raw(self) -> dict:
        return self.model.limits(self.free_energy, self.choices)

    @functools.cached_property
    def limits(self) -> dict:
        return {k: (v.value if isinstance(v, DerivedLimit) else v) for k, v in self._limits_raw.items()}

    @functools.cached_property
    def limit_steps(self) -> dict:
        return {k: (v.steps if isinstance(v, DerivedLimit) else ()) for k, v in self._limits_raw.items()}

    @functools.cached_property
    def stability(self):
        return self.model.stability(self.free_energy, self.choices)

    # -- compiled functions (numpy: broadcasting arrays; mpmath: scalars) ------
    @functools.cached_property
    def numpy_system(self):
        """(residual list, Jacobian rows) at once, sharing quadrature nodes."""
        k = len(self.equations)
        flat = list(self.equations) + [j for row in self.jacobian for j in row]
        fn = compile_numpy(flat, self.args)

        def system(*values):
            out = fn(*values)
            return out[:k], [out[k + i * k:k + (i + 1) * k] for i in range(k)]

        return system

    @functools.cached_property
    def numpy_residual(self):
        return compile_numpy(list(self.equations), self.args)

    @functools.cached_property
    def numpy_outputs(self):
        """Free energy, observables (in ``observable_names`` order) and stability eigenvalue."""
        return compile_numpy(self._output_exprs(), self.args)

    @functools.cached_property
    def numpy_free_energy(self):
        return compile_numpy(self.free_energy, self.args)

    @functools.cached_property
    def mpmath_outputs(self):
        return compile_mpmath(self._output_exprs(), self.args)

    @functools.cached_property
    def mpmath_residual(self):
        return compile_mpmath(list(self.equations), self.args)

    @functools.cached_property
    def mpmath_jacobian(self):
        return compile_mpmath([j for row in self.jacobian for j in row], self.args)

    @property
    def observable_names(self) -> list:
        return list(self.observables)

    def _output_exprs(self) -> list:
        out = [self.free_energy] + [self.observables[k] for k in self.observable_names]
        out.append(self.stability.expression if self.stability is not None else sympy.Integer(0))
        return out

    @functools.cached_property
    def numpy_limits(self):
        names = list(self.limits)
        fn = compile_numpy([self.limits[k] for k in names], [p.symbol for p in self.model.real_parameters])
        return names, fn

    @functools.cached_property
    def mpmath_limits(self):
        names = list(self.limits)
        fn = compile_mpmath([self.limits[k] for k in names], [p.symbol for p in self.model.real_parameters])
        return names, fn
