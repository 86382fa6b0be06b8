"""Expansion, learning, pruning: a max-margin perceptron whose input layer is expanded during learning.

Setting (Steinberg, Advani & Sompolinsky, "A new role for circuit expansion for learning in
neural networks", arXiv:2008.08653, Phys. Rev. E 103, 022404 (2021); only the paper's abstract
and introduction could be consulted for this implementation, so the notation below is the
package's, and the equations are derived here, not transcribed):

* a spherical teacher T (|T|^2 = N) labels Gaussian inputs x ~ N(0, I_N):
  y = sign(T.x/sqrt(N) + noise * eta), eta ~ N(0, 1) (the teacher-student ``noise``);
* the student has its N inputs plus M = expansion * N expanded units with activities
  a_j in {0, 1}, active with probability ``sparsity`` = f (the coding level), which it sees
  through their fluctuations a_j - f (variance s^2 = f (1 - f)). With ``units=stochastic``
  the units are independent of the input (redrawn for every example: the setting whose mean
  field equations the paper solves); with ``units=sparse`` they are a sparse expansion of the
  input, a_j = Theta(g_j . x/sqrt(N) - theta), g_j ~ N(0, I_N), threshold theta = H^{-1}(f)
  (simulated only: see *Limitations*);
* learning: the hard-margin SVM of the expanded network, min |w|^2 + |v|^2 subject to
  y_mu (w.x_mu + v.(a_mu - f))/sqrt(N) >= 1 (w on the inputs, v on the expanded units);
  normalised to |w|^2 + |v|^2 = N, its margin is ``kappa``;
* pruning after learning: v is removed, the student keeps w. ``eps_g`` is the generalisation
  error of the pruned student against the noiseless rule, arccos(R/sqrt(Q_w))/pi with
  R = w.T/N and Q_w = |w|^2/N; ``eps_g_full`` that of the unpruned network on fresh inputs with
  fresh stochastic units, arccos(R/sqrt(Q_w + s^2 (1 - Q_w)))/pi.

Replica theory (derived by the package; ``units=stochastic``)
-------------------------------------------------------------
The weights form two blocks, w (N components, overlap R with the teacher, self-overlap
Q_w, two-replica overlap q_w) and u = s v (M components seen through unit-variance inputs,
self-overlap Q_u = s^2 (1 - Q_w), overlap q_u). A block of dimension d N on the sphere of
radius^2 Q N contributes d [ln(Q - q)/2 + (q - R^2)/(2 (Q - q))] (the spherical prior of
:mod:`replica.perceptron` rescaled to norm Q, :class:`BlockPrior`), and the fields
h = (w.x + u.eta)/sqrt(N) have variance Q = Q_w + Q_u, replica overlap q_w + q_u and teacher
overlap R, so the energetic term is the engine's version-space term at the normalised
(q/Q, R/sqrt(Q), kappa/sqrt(Q)). The max-margin (q -> 1) limit is taken with
q_w = Q_w - theta epsilon, q_u = Q_u - (1 - theta) epsilon: the free entropy is
A/epsilon + O(ln epsilon), A = S + alpha E the package's leading coefficient (S from the two
blocks, E = Q times the engine's energetic coefficient, since 1 - q/Q = epsilon/Q). It is written
in the unpruned field's normalised overlap r = R/sqrt(Q) and margin k = kappa/sqrt(Q), which keeps
Q out of the Gaussian average (a change of variables: the stationary points are the same). The
max-margin student maximises kappa = k sqrt(Q) subject to A = 0, stationary in r, Q_w and theta:
the Lagrangian k sqrt(Q) + lambda A, as for
:class:`~replica.models.teacher_student.MaxMarginStudent`. ``theta`` is the share of the replica
overlap deficit carried by the inputs. Observables: R_pruned = r sqrt(Q/Q_w), eps_g = arccos(R_pruned)/pi,
eps_g_full = arccos(r)/pi, kappa = k sqrt(Q).

Checks of this theory (tests/test_expansion_perceptron.py): with expansion = 0 or f = 1 it is
the teacher-student max-margin student; at s = 1 the network is isotropic in (1 + c) N
dimensions and the expanded student is the teacher-student one at alpha/(1 + c), with the
pruned overlap R/sqrt(R^2 + (1 - R^2)/(1 + c)) (isotropy of the student around the teacher);
Monte Carlo (``replica compare``) agrees.

Capacity (``task=capacity``): the largest alpha at which the noisy teacher's examples are
separable by the expanded network, from A = 0 at kappa = 0 (A is linear in alpha there:
alpha_c = -S/E, S the entropic and E the energetic coefficient), stationary in r, Q_w, theta.
At kappa = 0 feasibility does not depend on the scale of the blocks, so alpha_c does not
depend on f in (0, 1) and equals (1 + c) times the unexpanded capacity (tested).

Slack variables (the paper's link to soft-margin SVMs)
------------------------------------------------------
With M >= P stochastic units the expanded part gives each example its own field
xi_mu = v.(a_mu - f)/sqrt(N); the cheapest v producing a slack vector xi has
|v|^2 = N xi^T (E E^T)^{-1} xi (E the P x M matrix of centred activities). So the expanded
hard-margin SVM *is* a soft-margin SVM on the original inputs,

    min_w,xi |w|^2 + N xi^T (E E^T)^{-1} xi   subject to   y_mu (w.x_mu/sqrt(N) + xi_mu) >= 1,

and E E^T/M -> s^2 I as M/P -> oo, so for a large expansion it is the L2-slack
(squared-hinge) SVM with slack cost 1/(expansion s^2): more (or denser) expanded units mean
cheaper slack, more regularisation, hence the better pruned generalisation on noisy labels;
pruning = keeping the SVM's weights and discarding its slack variables. At infinite expansion
the slack is free and the pruned student is Hebb's rule (all examples support vectors with
equal weight), which keeps improving with alpha for noisy labels. The finite-size identity and
the large-expansion limit are tested.

Finding of this implementation: eps_g of the pruned student falls as the expansion grows over a
range of expansions (e.g. c = 0 to 8 at alpha = 2, noise = 1), reaches a minimum (an optimal
slack cost), and then rises slowly to Hebb's error as c -> oo (tested against the closed form).
So with units of fixed variance f (1 - f) "eps_g keeps falling as the expansion grows" holds up
to the optimal expansion, not for every c. What does hold at every expansion: at a fixed slack cost
1/(c f (1 - f)) (f lowered as c grows), eps_g falls strictly with c (e.g. alpha = 2, noise = 1,
c f (1 - f) = 1: 0.2933, 0.2812, 0.2774, 0.2763, 0.2761 at c = 4, 16, 64, 256, 1024), towards the
L2-slack SVM; hence the best eps_g over the coding level keeps falling with the expansion, the
reading of the paper's claim that is tested (the paper's body, with its own parametrisation, could
not be consulted).

Limitations
-----------
* ``units=sparse`` (the input-driven sparse expansion) has a simulator but no replica theory
  here (its units are correlated with the input; the paper studies it numerically): ``replica
  simulate`` works, ``replica compare`` reports that there is no theory value.
* ``task=capacity``: the two-block saddle point converges for expansion up to ~16 (tested) and
  fails to converge at expansion >= 256; there alpha_c = (1 + expansion) alpha_c(expansion = 0)
  (exact for f < 1), which is also what bounds alpha for ``task=learning``.
* Replica symmetric; the version space of a max-margin problem is convex, so RS is expected to be
  exact (Gardner 1988), not checked by a stability eigenvalue here.
"""
from __future__ import annotations

import functools
import math

import sympy

from ..errors import ParameterError
from ..model import Model, Reference
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..perceptron import SignTeacher, SphericalPrior, VersionSpace, energetic
from ..symbolic import apply_asymptotic_rules, leading_coefficient

UNITS = ("stochastic", "sparse")
TASKS = ("learning", "capacity")
epsilon = sympy.Symbol("epsilon", positive=True)

# the normalised (unit-norm) variables of the engine's energetic term
_q = sympy.Symbol("q", real=True)
_Rn = sympy.Symbol("R_n", real=True)
_kn = sympy.Symbol("kappa_n", real=True)


class BlockPrior:
    """A block of ``dim`` N weights on the sphere of radius^2 ``Q`` N, overlaps q (replicas) and R
    (teacher, 0 for the expanded block): the engine's :class:`~replica.perceptron.SphericalPrior`
    rescaled to norm Q, times the block's dimension per input,
    dim [ln(Q - q)/2 + (q - R^2)/(2 (Q - q))] + const (the constant dim ln(Q/dim)/2 - dim ln Q/2
    does not depend on the overlaps and is dropped)."""

    name = "spherical block"

    def __init__(self, dim=1):
        self.dim = dim

    def entropy(self, q, Q, R=0):
        return self.dim * (SphericalPrior().entropy(q / Q, R / sympy.sqrt(Q)) + sympy.log(Q) / 2)


def _energetic_leading(noise):
    """Coefficient of 1/(1 - q) of the engine's version-space energetic term (unit norm) at
    margin kappa_n and teacher overlap R_n, as q -> 1 (asymptotic rules of replica.symbolic)."""
    G = energetic(SignTeacher(noise, 0), VersionSpace(_kn), _q, _Rn)
    return leading_coefficient(apply_asymptotic_rules(G.subs(_q, 1 - epsilon)), epsilon, 1)


class ExpansionPerceptron(Model):
    name = "expansion-perceptron"
    title = "Max-margin perceptron with an expanded input layer, pruned after learning (replica symmetric)"
    description = ("A student perceptron with its N inputs expanded by expansion*N units of coding level sparsity "
                   "learns a noisy teacher by max-margin (hard-margin SVM) learning; the expanded units are "
                   "pruned after learning (Steinberg, Advani & Sompolinsky 2021): generalisation error of the "
                   "pruned (eps_g) and unpruned (eps_g_full) student, margin, capacity of the expanded network.")
    parameters = (
        Parameter("alpha", "examples per input P/N", POSITIVE, 2.0, latex="alpha"),
        Parameter("expansion", "expanded units per input M/N", NONNEGATIVE, 1.0, latex="c"),
        Parameter("sparsity", "coding level f of the expanded units (probability of being active)",
                  Interval(0.0, 1.0, upper_closed=True), 0.5, latex="f"),
        Parameter("noise", "std of Gaussian output noise on the teacher's field", NONNEGATIVE, 0.5,
                  latex="sigma"),
        Parameter("units", "expanded units: stochastic (independent of the input) or sparse (of the input)",
                  default="stochastic", kind="categorical", choices=UNITS),
        Parameter("task", "learning (at alpha) or capacity (largest separable alpha)", default="learning",
                  kind="categorical", choices=TASKS),
    )
    observables = (
        Observable("eps_g", "generalisation error of the pruned student (inputs' weights only)"),
        Observable("eps_g_full", "generalisation error of the unpruned expanded student (fresh units)"),
        Observable("R_pruned", "overlap of the pruned student with the teacher"),
        Observable("kappa", "margin of the expanded max-margin student (|w|^2 + |v|^2 = N)"),
        Observable("Q_w", "share of the squared weight norm on the inputs, |w|^2/N"),
        Observable("alpha_c", "capacity: largest alpha at which the noisy labels are separable"),
    )
    free_energy_name = "Lagrangian of the maximal margin"
    ansatz = "replica symmetric"
    select = "max"
    simulated_observables = ("eps_g", "eps_g_full", "kappa", "Q_w")
    finite_size_powers = (1,)
    quick_compares = ({"params": {"alpha": 1.0, "expansion": 1.0, "noise": 0.5}, "n": [40, 80, 160],
                       "trials": 40, "seed": 1},)
    verify_compares = quick_compares + ({"params": {"alpha": 3.0, "expansion": 3.0, "sparsity": 0.2, "noise": 0.5},
                                         "n": [50, 100, 200], "trials": 60, "seed": 2},)
    references = (
        Reference({"alpha": 2.0, "expansion": 0.0, "noise": 0.5}, "eps_g", 0.2521875403180487, 1e-8,
                  "no expansion: the max-margin student of a noisy teacher, 1 - R^2 = alpha I(R, kappa) stationary "
                  "in R (Gardner 1988; Engel & Van den Broeck 2001, sec. 4.2), eps_g = arccos(R)/pi, solved "
                  "independently with scipy quad + root (tests/test_expansion_perceptron.py)"),
        Reference({"expansion": 1.0, "noise": 0.5, "task": "capacity"}, "alpha_c", 2 * 4.137443488291947, 1e-7,
                  "(1 + expansion) times the separability threshold of a noisy teacher's labels, "
                  "max_R (1 - R^2)/I(R, 0) (Engel & Van den Broeck 2001, ch. 5), quad + bounded minimisation "
                  "(tests/test_expansion_perceptron.py); Monte Carlo check of separability there too"),
    )

    # -- variants -------------------------------------------------------------------
    def variant(self, params):
        task = params.get("task") or "learning"
        unexpanded = not params.get("expansion") or params.get("sparsity") == 1.0
        if (params.get("units") or "stochastic") == "sparse" and task == "learning" and not unexpanded:
            return SparseExpansion()
        if task == "capacity":
            return UnexpandedCapacity() if unexpanded else ExpandedCapacity()
        return UnexpandedLearning() if unexpanded else ExpandedLearning()

    def validate(self, params):
        if params.get("task") == "capacity" and params.get("noise") == 0:
            raise ParameterError("parameter 'noise'=0 is out of range for task=capacity; allowed (0, inf) "
                                 "(a noiseless teacher's labels are separable at every alpha)")
        if params.get("task") == "capacity" and params.get("units") == "sparse":
            raise ParameterError("parameter 'units'='sparse' is not allowed for task=capacity; allowed: "
                                 "stochastic (the sparse expansion has no replica theory here)")
        if (params.get("task") or "learning") == "learning" and params.get("noise") and \
                (params.get("units") or "stochastic") == "stochastic" and params.get("alpha") is not None:
            ac = _capacity(float(params.get("expansion") or 0.0), float(params.get("sparsity") or 0.5),
                           float(params["noise"]))
            if not params["alpha"] < ac:
                raise ParameterError(
                    f"parameter 'alpha'={params['alpha']:g} is out of range; allowed (0, {ac:.6g}) at expansion="
                    f"{params.get('expansion'):g}, sparsity={params.get('sparsity'):g}, noise={params['noise']:g}: "
                    f"beyond the capacity alpha_c the noisy labels are not separable and there is no max-margin "
                    f"student (task=capacity gives alpha_c)")

    # -- shared pieces ------------------------------------------------------------------
    def _symbols(self):
        alpha, c, f, noise = (p.symbol for p in self.parameters[:4])
        return alpha, c, f, noise

    def unit_variance(self):
        """s^2 = f (1 - f): variance of an expanded unit's activity a - f."""
        _, _, f, _ = self._symbols()
        return f * (1 - f)

    def field_variance(self, Qw):
        """Q = Q_w + s^2 (1 - Q_w): variance of the expanded network's field at |w|^2 + |v|^2 = N."""
        return Qw + self.unit_variance() * (1 - Qw)

    def leading(self, r, k, Qw, theta):
        """(S, E): A = S + alpha E is the coefficient of 1/epsilon of the two-block version-space
        free entropy (module docstring), written in the field's normalised overlap r = R/sqrt(Q) and
        margin k = kappa/sqrt(Q) (so that Q stays out of the Gaussian average)."""
        _, c, _, noise = self._symbols()
        Qu = self.unit_variance() * (1 - Qw)
        Q = self.field_variance(Qw)
        R = r * sympy.sqrt(Q)
        entropy = (BlockPrior(1).entropy(Qw - theta * epsilon, Qw, R)
                   + BlockPrior(c).entropy(Qu - (1 - theta) * epsilon, Qu))
        S = leading_coefficient(entropy, epsilon, 1)
        # energetic term: 1 - q/Q = epsilon/Q, so its coefficient of 1/epsilon is Q times the
        # engine's coefficient of 1/(1 - q) at the normalised overlap r and margin k
        E = Q * _energetic_leading(noise).subs({_Rn: r, _kn: k})
        return S, E

    def _errors(self, r, Qw):
        """Pruned overlap R/sqrt(Q_w) = r sqrt(Q/Q_w); the unpruned field's overlap is r itself."""
        Rp = r * sympy.sqrt(self.field_variance(Qw) / Qw)
        return {"R_pruned": Rp, "eps_g": sympy.acos(Rp) / sympy.pi, "eps_g_full": sympy.acos(r) / sympy.pi}

    def simulate_trial(self, params, n, rng):
        from ..simulators.expansion_perceptron import trial
        return trial(n, params["alpha"], params["expansion"], params["sparsity"], params["noise"], rng,
                     units=params["units"])


@functools.lru_cache(maxsize=256)
def _capacity(expansion, sparsity, noise):
    """alpha_c of the expanded network, cached: the bound of alpha for learning. Computed as (1 + c)
    times the unexpanded capacity (task=capacity at expansion 0), which the expanded capacity equals
    for f < 1 (scale-freeness at kappa = 0; tested against the two-block saddle point)."""
    from ..solver import solve
    model = ExpansionPerceptron()
    params = model.resolve({"task": "capacity", "expansion": 0.0, "noise": noise})
    plain = float(solve(model, params).observables["alpha_c"])
    return plain if sparsity == 1.0 else (1 + expansion) * plain


def _guess_unexpanded(alpha):
    """Teacher-student max-margin starting guesses (see MaxMarginStudent.starting_points)."""
    R0 = max(0.3, 1 - 1.2 / (1 + alpha)**2)
    return R0, 1 / (alpha + 0.3)


class ExpandedLearning(ExpansionPerceptron):
    """Stochastic expanded units, learning at alpha: kappa + lambda A(R, kappa, Q_w, theta)."""

    order_parameters = (
        OrderParameter("r", "overlap of the unpruned field with the teacher's, R/sqrt(Q)", Interval(0.0, 1.0),
                       guesses=(0.6,)),
        OrderParameter("k", "margin in units of the field's std, kappa/sqrt(Q)", Interval(0.0, None),
                       guesses=(0.5,)),
        OrderParameter("lambda", "Lagrange multiplier of A = 0", Interval(0.0, None), guesses=(1.0,)),
        OrderParameter("Q_w", "share of the squared norm on the inputs, |w|^2/N", Interval(0.0, 1.0),
                       guesses=(0.5,)),
        OrderParameter("theta", "share of the overlap deficit on the inputs", Interval(0.0, 1.0),
                       guesses=(0.5,)),
    )
    references = ()

    def free_energy(self, choices):
        r, k, lam, Qw, theta = (o.symbol for o in self.order_parameters)
        alpha = self._symbols()[0]
        S, E = self.leading(r, k, Qw, theta)
        return k * sympy.sqrt(self.field_variance(Qw)) + lam * (S + alpha * E)

    def starting_points(self, params):
        """Guesses from the isotropic case (exact at s = 1): the teacher-student guesses at
        alpha/(1 + c scale), Q_w = R^2 + (1 - R^2)/(1 + c s^2) (or halfway to 1) and theta from the
        optimal split of the deficit, sqrt(Q_w - R^2) : sqrt(c Q_u); lambda bracketed by three values."""
        a, c, f = float(params["alpha"]), float(params["expansion"]), float(params["sparsity"])
        s2 = f * (1 - f)
        out = []
        for scale in (1.0, 0.5, 2.0):
            R0, k0 = _guess_unexpanded(a / (1 + c * scale))
            for Qw in (R0**2 + (1 - R0**2) / (1 + c * s2), 0.5 * (1 + R0**2)):
                Qw = min(max(Qw, R0**2 + 0.05), 0.99)
                R0 = min(R0, math.sqrt(Qw) * 0.99)
                Qu = s2 * (1 - Qw)
                dw, du = math.sqrt(Qw - R0**2), math.sqrt(c * Qu)
                th = dw / (dw + du)
                Q = Qw + Qu
                for lam in (1 / a, 1.0, a):
                    out.append((R0 / math.sqrt(Q), k0, lam, Qw, th))
        return out

    def observable_expressions(self, F, choices):
        r, k, _, Qw, _ = (o.symbol for o in self.order_parameters)
        return {**self._errors(r, Qw), "kappa": k * sympy.sqrt(self.field_variance(Qw)), "Q_w": Qw}


class UnexpandedLearning(ExpansionPerceptron):
    """No expansion (expansion = 0) or silent units (f = 1): the one-block limit Q_w = 1, theta = 1,
    which is the teacher-student max-margin student (tested against that model)."""

    order_parameters = ExpandedLearning.order_parameters[:3]
    references = ()

    def free_energy(self, choices):
        R, kappa, lam = (o.symbol for o in self.order_parameters)
        a, _, _, noise = self._symbols()
        S = leading_coefficient(BlockPrior(1).entropy(1 - epsilon, 1, R), epsilon, 1)
        E = _energetic_leading(noise).subs({_Rn: R, _kn: kappa})
        return kappa + lam * (S + a * E)

    def starting_points(self, params):
        a = float(params["alpha"])
        R0, k0 = _guess_unexpanded(a)
        return [(R0, k0, lam) for lam in (1 / a, 1.0, a, 3 * a)]

    def observable_expressions(self, F, choices):
        R, kappa, _ = (o.symbol for o in self.order_parameters)
        Rp = R
        return {"R_pruned": Rp, "eps_g": sympy.acos(Rp) / sympy.pi, "eps_g_full": sympy.acos(Rp) / sympy.pi,
                "kappa": kappa, "Q_w": sympy.Integer(1)}


class ExpandedCapacity(ExpansionPerceptron):
    """Capacity of the expanded network: alpha_c = -S/E at kappa = 0, stationary in R, Q_w, theta."""

    order_parameters = (
        ExpandedLearning.order_parameters[0],
        ExpandedLearning.order_parameters[3],
        ExpandedLearning.order_parameters[4],
    )
    select = "max"
    simulated_observables = ()
    references = ()

    def free_energy(self, choices):
        r, Qw, theta = (o.symbol for o in self.order_parameters)
        S, E = self.leading(r, sympy.Integer(0), Qw, theta)
        return -S / E

    def starting_points(self, params):
        """The isotropic optimum mapped to these blocks (exact up to R', the teacher-student capacity's
        overlap, which is bracketed): at kappa = 0 only the direction matters, and in the variables
        u = s v the optimum has Q_w : Q_u = R'^2 + (1 - R'^2)/(1 + c) : c (1 - R'^2)/(1 + c), scaled to
        Q_w + Q_u/s^2 = 1; then r = R'/sqrt(Q_w' + Q_u') = R' and theta from the optimal split."""
        c, f = float(params["expansion"]), float(params["sparsity"])
        s2 = f * (1 - f)
        out = []
        for R1 in (0.5, 0.7, 0.85, 0.95, 0.99):
            a, b = R1**2 + (1 - R1**2) / (1 + c), c * (1 - R1**2) / (1 + c)
            scale = 1 / (a + b / s2)
            Qw, Qu = a * scale, b * scale
            R = R1 * math.sqrt(Qw + Qu)
            dw, du = math.sqrt(max(Qw - R * R, 1e-12)), math.sqrt(c * Qu)
            out.append((R1, Qw, dw / (dw + du)))
        return out

    def observable_expressions(self, F, choices):
        return {"alpha_c": F}


class UnexpandedCapacity(ExpansionPerceptron):
    """Capacity without expansion: alpha_c = -S/E at kappa = 0 and Q_w = 1, stationary in R."""

    order_parameters = (ExpandedLearning.order_parameters[0],)
    simulated_observables = ()
    references = ()

    def free_energy(self, choices):
        R = self.order_parameters[0].symbol
        _, _, _, noise = self._symbols()
        S = leading_coefficient(BlockPrior(1).entropy(1 - epsilon, 1, R), epsilon, 1)
        E = _energetic_leading(noise).subs({_Rn: R, _kn: 0})
        return -S / E

    def starting_points(self, params):
        return [(R0,) for R0 in (0.5, 0.7, 0.85)]

    def observable_expressions(self, F, choices):
        return {"alpha_c": F}


class SparseExpansion(ExpansionPerceptron):
    """The input-driven sparse expansion: simulated only (no replica theory here)."""

    order_parameters = ()
    references = ()

    def free_energy(self, choices):
        return sympy.Integer(0)
