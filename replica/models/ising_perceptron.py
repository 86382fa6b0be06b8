"""The binary (Ising) perceptron: storage capacity with margin kappa, RS and 1RSB.

N weights w_i = +-1 store P = alpha N random patterns with random labels, each with margin kappa.
Composed by the perceptron engine (binary prior, random labels, version space), the RS free
entropy (the log-number of solutions per weight) is

    s(q, qhat) = -qhat (1 - q)/2 + int Dz ln 2cosh(sqrt(qhat) z) + alpha int Dt ln H((kappa + sqrt(q) t)/sqrt(1 - q)),

stationary in (q, qhat) (Gardner & Derrida, J. Phys. A 21, 271 (1988); Krauth & Mezard,
J. Phys. France 50, 3057 (1989)).

* ``rsb=0``: the RS capacity is where q -> 1 (with qhat = x/(1 - q)^2): the package takes the limit
  with ln 2cosh(y) ~ |y| and ln H(u) ~ -u^2/2 Theta(u), which gives alpha_c = 2/(pi I(kappa)),
  I = int_{-kappa}^oo Dt (kappa + t)^2; 4/pi at kappa = 0. It is known to be wrong: the RS
  entropy is negative well before it.
* ``rsb=1``: Krauth and Mezard's capacity is where the entropy of solutions vanishes (their 1RSB
  solution freezes there, q1 = 1); found as the stationary point of alpha + lambda s(q, qhat; alpha)
  in (q, qhat, alpha, lambda), which imposes ds/dq = ds/dqhat = 0 and s = 0; about 0.833 at kappa = 0.

``task=teacher-student``: a binary teacher T (T_i = +-1) labels Gaussian inputs, y = sign(T.xi), and
the binary student learns P = alpha N of them by zero-temperature Gibbs learning (``rule=gibbs``: a
uniformly random weight vector of the version space) or Bayes-optimally (``rule=bayes``: the centre of
mass of the same posterior; for noiseless labels and a uniform +-1 prior the posterior *is* the uniform
measure on version space). Composed by the engine: the binary prior with a teacher overlap
(:class:`BinaryTeacherPrior`, conjugates qhat, Rhat), the noiseless :class:`SignTeacher` and the
version space; the RS free entropy (gauge T_i = +1)

    s = -Rhat R - qhat (1 - q)/2 + int Dz ln 2cosh(sqrt(qhat) z + Rhat)
        + alpha sum_y int Dt Z_T(y; R t/sqrt(q), 1 - R^2/q) ln H(-y sqrt(q) t/sqrt(1 - q))

is taken on the Nishimori line R = q, Rhat = qhat (the student's measure is the teacher's posterior;
the stationarity conditions of F(q, q, qhat, qhat) are the sums of the full ones) and extremised in
(q, qhat) by the package. Observables (Gyorgyi, Phys. Rev. A 41, 7097 (1990); Sompolinsky, Tishby &
Seung, PRL 65, 1683 (1990); Barbier, Krzakala, Macris, Miolane & Zdeborova, PNAS 116, 5451 (2019)):

* with ``alpha``: the R < 1 branch (``R_branch``, ``eps_g_branch``, ``entropy_branch`` = its entropy
  of version space), and the equilibrium state: the R < 1 branch while its entropy is positive,
  otherwise the teacher itself (R = 1, zero entropy: a single weight vector), selected by comparing the
  two entropies (``perfect`` = 1 when R = 1 wins); ``R``, ``q``, ``eps_g`` = arccos(R)/pi and
  ``entropy`` of that state. Gibbs: R = q; Bayes (centre of mass): R = sqrt(q). Above the spinodal
  the R < 1 branch does not exist and the model reports the R = 1 state.
* without ``alpha``, ``threshold=thermodynamic`` (default): the thermodynamic (information-theoretic)
  transition ``alpha_th`` = ``alpha_IT`` where the entropy of the R < 1 branch reaches 0, that of the
  R = 1 state (equal free entropies; Gyorgyi's alpha_GD = 1.245): the stationary point of
  alpha + lambda s(q, qhat; alpha), as for the Krauth-Mezard capacity;
* without ``alpha``, ``threshold=spinodal``: the spinodal ``alpha_sp`` = ``alpha_alg`` where the R < 1
  branch disappears (AMP started from q = 0 follows this branch, so it is the algorithmic threshold):
  ds/dq = 0 solved (by SymPy) for alpha = A(q, qhat), and A maximised along ds/dqhat = 0, the
  stationary point of A + mu ds/dqhat. Both derived from the same free entropy. (Two variants rather
  than one system of 7-9 unknowns: a failed Newton start makes the solver retry from a grid of
  10^k starting points, which must stay small.)

Gibbs and Bayes share the posterior, hence the thresholds; they differ in the estimator (R = q for
a Gibbs sample, R = sqrt(q) for the centre of mass).
"""
from __future__ import annotations

import math

import sympy

from ..errors import DerivationError, ParameterError, SimulationError
from ..model import DerivedLimit, Model, Reference
from ..params import NONNEGATIVE, POSITIVE, REAL, Interval, Observable, OrderParameter, Parameter
from ..perceptron import BinaryPrior, RandomLabels, SignTeacher, VersionSpace, free_entropy
from ..symbolic import (GaussianAverage, LogTwoCosh, apply_asymptotic_rules, drop_null_deltas,
                        gaussian_average_closed_form, leading_coefficient)

TASKS = ("storage", "teacher-student")
RULES = ("gibbs", "bayes")
#: the spinodal of the R < 1 branch (binary teacher, noiseless labels), as derived by
#: :class:`BinarySpinodal` (tests/reference/perceptron_values.json: 1.49263181823035127...); a test
#: checks that the two agree to 1e-10. Used only to
#: choose the variant: above it the R < 1 branch does not exist.
ALPHA_SPINODAL = 1.4926318182303513

epsilon = sympy.Symbol("epsilon", positive=True)
x = sympy.Symbol("x", positive=True)


class IsingPerceptron(Model):
    name = "ising-perceptron"
    title = "Binary (Ising) perceptron: storage capacity (RS and 1RSB)"
    description = ("Storage of random patterns by +-1 weights with margin kappa: the RS capacity "
                   "(q -> 1, 4/pi at kappa = 0, known to be wrong) and the Krauth-Mezard 1RSB capacity "
                   "(vanishing entropy, about 0.833 at kappa = 0); below capacity the entropy of solutions.")
    parameters = (
        Parameter("kappa", "margin required of every pattern", REAL, 0.0, latex="kappa"),
        Parameter("alpha", "load P/N (rsb=0: optional, gives the entropy of solutions)", POSITIVE, None,
                  latex="alpha"),
        Parameter("rsb", "replica symmetry breaking: 0 (RS) or 1 (Krauth-Mezard)", default="0",
                  kind="categorical", choices=("0", "1")),
        Parameter("task", "storage of random labels, or learning a binary teacher's labels", default="storage",
                  kind="categorical", choices=TASKS),
        Parameter("rule", "task=teacher-student: gibbs (random point of version space) or bayes (its centre "
                  "of mass)", default="gibbs", kind="categorical", choices=RULES),
        Parameter("threshold", "task=teacher-student without alpha: the thermodynamic transition (alpha_th = "
                  "alpha_IT) or the spinodal (alpha_sp = alpha_alg)", default="thermodynamic",
                  kind="categorical", choices=("thermodynamic", "spinodal")),
    )
    observables = (
        Observable("alpha_c", "storage capacity (rsb=0: RS q -> 1 limit; rsb=1: zero entropy)"),
        Observable("q", "overlap of two solutions (teacher-student: of two posterior samples)"),
        Observable("qhat", "conjugate of q"),
        Observable("entropy", "log-number of solutions per weight (RS; teacher-student: of the equilibrium state)"),
        Observable("R", "teacher-student overlap of the equilibrium state (gibbs: R = q; bayes: sqrt(q))"),
        Observable("eps_g", "generalisation error arccos(R)/pi"),
        Observable("perfect", "1 if the equilibrium state is the teacher (R = 1), 0 on the R < 1 branch"),
        Observable("R_branch", "teacher-student overlap on the R < 1 branch (metastable above alpha_th)"),
        Observable("eps_g_branch", "generalisation error on the R < 1 branch"),
        Observable("entropy_branch", "entropy of version space on the R < 1 branch (< 0 above alpha_th)"),
        Observable("alpha_th", "thermodynamic transition to perfect generalisation (entropy of R < 1 = 0)"),
        Observable("alpha_IT", "information-theoretic threshold (= alpha_th: the same posterior)"),
        Observable("alpha_sp", "spinodal: the R < 1 branch disappears"),
        Observable("alpha_alg", "algorithmic (AMP) threshold (= alpha_sp)"),
        Observable("parisi_m", "rsb=1 with alpha: Parisi parameter of the frozen 1RSB solution (m = 1 below capacity)"),
        Observable("complexity", "rsb=1 with alpha: log-number of states (isolated solutions) per weight"),
        Observable("R_th", "overlap R of the R < 1 branch at alpha_th"),
        Observable("R_sp", "overlap R of the R < 1 branch at alpha_sp"),
    )
    free_energy_name = "free entropy"
    references = (
        Reference({"kappa": 0.0, "rsb": "0"}, "alpha_c", 4 / 3.141592653589793, 1e-14,
                  "Gardner & Derrida 1988, J. Phys. A 21, 271: RS capacity 4/pi of +-1 weights"),
        Reference({"task": "teacher-student"}, "alpha_th", 1.2446839898506903, 1e-10,
                  "Gyorgyi 1990, Phys. Rev. A 41, 7097 (abstract: alpha_GD = 1.245); digits from "
                  "tests/reference/perceptron_values.json (binary_ts_alpha_IT)"),
        Reference({"task": "teacher-student", "threshold": "spinodal"}, "alpha_sp", 1.4926318182303513, 1e-10,
                  "Barbier, Krzakala, Macris, Miolane & Zdeborova 2019, PNAS 116, 5451: alpha_alg = 1.493; "
                  "digits from tests/reference/perceptron_values.json (binary_ts_alpha_alg)"),
    )

    # exact enumeration (replica.simulators.ising_perceptron); sizes, instances and seeds are those
    # of tests/test_ising_perceptron.py and tests/test_ising_teacher_student.py, which document the
    # finite-size drift that the (1/N, 1/N^2) extrapolation absorbs
    quick_compares = ({"params": {"task": "teacher-student", "alpha": 0.5, "rule": "gibbs"}, "n": [8, 12, 16],
                       "trials": 300, "seed": 11},
                      {"params": {"kappa": 0.0, "rsb": "1"}, "n": [8, 10, 12, 14, 16], "trials": 2000, "seed": 21})
    verify_compares = quick_compares + (
        {"params": {"task": "teacher-student", "alpha": 0.5, "rule": "bayes"}, "n": [8, 12, 16, 20],
         "trials": 400, "seed": 12},)

    # storage: exact enumeration of all 2^N weight vectors (replica.simulators.ising_perceptron)
    simulated_observables = ("alpha_c",)
    finite_size_powers = (1, 2)

    def simulate_trial(self, params, n, rng):
        from ..simulators.ising_perceptron import MAX_N, storage_trial
        if n > MAX_N:
            raise SimulationError(f"ising-perceptron simulation enumerates all 2^N weight vectors: N={n} is "
                                  f"out of range; allowed N <= {MAX_N} (N <= 25 takes about a second a trial)")
        return storage_trial(n, float(params["kappa"]), rng)

    def variant(self, params):
        if params.get("task") == "teacher-student":
            alpha = params.get("alpha")
            if alpha is None:
                return BinarySpinodal() if params.get("threshold") == "spinodal" else BinaryTeacherTransitions()
            return BinaryTeacherStudent() if float(alpha) < ALPHA_SPINODAL else PerfectGeneralisation()
        if params.get("rsb") == "1":
            if params.get("alpha") is None:
                return KrauthMezard()
            alpha_c = krauth_mezard_capacity(float(params["kappa"]))
            if not float(params["alpha"]) < alpha_c:
                raise ParameterError(f"parameter 'alpha'={float(params['alpha']):g} is out of range with rsb=1; "
                                     f"allowed (0, alpha_c) = (0, {alpha_c:.10g}) for kappa={float(params['kappa']):g} "
                                     "(no solutions above the Krauth-Mezard capacity)")
            return FrozenOneRSB()
        return RSIsing()

    def validate(self, params):
        if params.get("threshold") == "spinodal" and (params.get("task") != "teacher-student"
                                                       or params.get("alpha") is not None):
            raise ParameterError("parameter 'threshold'='spinodal' is out of range here; allowed: thermodynamic "
                                 "(the default; threshold applies to task=teacher-student without alpha)")
        if params.get("task") != "teacher-student":
            if params.get("rule") not in (None, "gibbs"):
                raise ParameterError(f"parameter 'rule'={params['rule']!r} is out of range with task=storage; "
                                     "allowed: gibbs (the default; rule applies to task=teacher-student)")
            return
        if params.get("kappa") not in (None, 0.0):
            raise ParameterError(f"parameter 'kappa'={params['kappa']:g} is out of range with "
                                 "task=teacher-student; allowed: 0 (the teacher's labels have no margin)")
        if params.get("rsb") not in (None, "0"):
            raise ParameterError(f"parameter 'rsb'={params['rsb']!r} is out of range with task=teacher-student; "
                                 "allowed: 0 (the Nishimori line is replica symmetric)")

    def _symbols(self):
        kappa, alpha = self.parameters[:2]
        return kappa.symbol, alpha.symbol

    def _entropy(self, q, qhat, alpha):
        kappa, _ = self._symbols()
        return free_entropy(BinaryPrior(), RandomLabels(), VersionSpace(kappa), alpha, q, qhat=qhat)


class RSIsing(IsingPerceptron):
    order_parameters = (
        OrderParameter("q", "overlap of two solutions", Interval(0.0, 1.0), guesses=(0.5,)),
        OrderParameter("qhat", "conjugate of q", Interval(0.0, None), guesses=(1.0,)),
    )
    ansatz = "replica symmetric"
    select = "min"

    def free_energy(self, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        return self._entropy(q, qhat, alpha)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q), 2]

    def saddle_active(self, params):
        return params.get("alpha") is not None

    def observable_expressions(self, F, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        return {"q": q, "qhat": qhat, "entropy": F}

    def limits(self, F, choices):
        """RS capacity: q = 1 - epsilon, qhat = x/epsilon^2, s ~ A(x)/epsilon; A stationary in x, A = 0."""
        q, qhat = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        raw = leading_coefficient(apply_asymptotic_rules(F.subs({q: 1 - epsilon, qhat: x / epsilon**2})),
                                  epsilon, 1)
        A = sympy.expand(raw.replace(lambda e: isinstance(e, GaussianAverage), gaussian_average_closed_form))
        roots = [r for r in sympy.solve(sympy.diff(A, x), x) if r.is_positive]
        if len(roots) != 1:
            raise DerivationError(f"the q -> 1 limit has no unique stationary x: {A}")
        A_star = sympy.expand(A.subs(x, roots[0]))
        slope, intercept = sympy.diff(A_star, alpha), A_star.subs(alpha, 0)
        if slope.has(alpha) or slope == 0:
            raise DerivationError(f"the q -> 1 limit is not linear in alpha: {A_star}")
        steps = ((r"\lim_{\epsilon\to 0} \epsilon\, s(1-\epsilon, x/\epsilon^2)", raw,
                  "q -> 1 with qhat = x/(1-q)^2: ln 2cosh(y) ~ |y|, ln H(u) ~ -u^2/2 Theta(u); s ~ A/(1-q), A ="),
                 ("x^*", roots[0], "A is stationary in x at"),
                 ("A(x^*)", A_star, "and A(x*) = 0 gives the capacity"))
        return {"alpha_c": DerivedLimit(sympy.simplify(-intercept / slope), steps)}


class KrauthMezard(IsingPerceptron):
    """The zero-entropy point of the RS saddle: Krauth & Mezard's 1RSB capacity."""

    order_parameters = (
        OrderParameter("q", "overlap of two solutions at capacity", Interval(0.0, 1.0), guesses=(0.5,)),
        OrderParameter("qhat", "conjugate of q", Interval(0.0, None), guesses=(2.0,)),
        OrderParameter("alpha_c", "capacity: the load where the entropy vanishes", Interval(0.0, None),
                       guesses=(0.8,)),
        OrderParameter("lambda", "Lagrange multiplier of s = 0", REAL, guesses=(1.0,)),
    )
    ansatz = "1RSB (frozen, Krauth-Mezard: zero entropy)"
    select = "min"
    references = (
        Reference({"kappa": 0.0, "rsb": "1"}, "alpha_c", 0.8330786, 2e-7,
                  "Krauth & Mezard 1989, J. Phys. France 50, 3057: alpha_c = 0.833 (zero entropy); "
                  "digits: Ding & Sun 2019 / Abbe et al. 2021 quote 0.833078599"),
    )

    def free_energy(self, choices):
        q, qhat, alpha_c, lam = (o.symbol for o in self.order_parameters)
        return alpha_c + lam * self._entropy(q, qhat, alpha_c)

    def starting_points(self, params):
        """Scaled from the RS capacity 2/(pi I(kappa)), I = (1 + k^2) H(-k) + k phi(k) (the ratio of
        the two capacities is 0.65-0.82 for kappa in [0, 1], measured); q, qhat and lambda bracketed."""
        k = float(params["kappa"])
        I = (1 + k * k) * 0.5 * math.erfc(-k / math.sqrt(2)) + k * math.exp(-k * k / 2) / math.sqrt(2 * math.pi)
        a0 = 0.72 * 2 / (math.pi * max(I, 1e-300))      # I underflows for kappa < -38 (the solve then fails cleanly)
        q0 = min(0.9, 0.55 + 0.15 * max(k, 0.0))
        return [(q0, qh, a0, lam) for qh in (2.5 * (1 + 2 * max(k, 0.0)), 1.0) for lam in (1.0, 4.0)]

    def observable_expressions(self, F, choices):
        q, qhat, alpha_c, _ = (o.symbol for o in self.order_parameters)
        return {"alpha_c": alpha_c, "q": q, "qhat": qhat}


class FrozenOneRSB(RSIsing):
    """1RSB below capacity: the frozen solution (Krauth & Mezard 1989; Huang & Kabashima 2014).

    Binary solutions are isolated: each 1RSB state is a single weight vector (q1 = 1), so the
    internal entropy of a state is zero and the replicated free entropy m Phi(m) = ln(number of
    states) does not depend on m. The number of states is the number of solutions, and below the
    capacity the Parisi parameter is m = 1, where the 1RSB saddle point reduces to the RS one with
    q0 = q: the complexity is the RS entropy of solutions, positive up to the Krauth-Mezard
    capacity (where it vanishes: that is how the capacity is defined). Above it there are no
    solutions (alpha is refused)."""

    ansatz = "1RSB (frozen: q1 = 1, Parisi parameter m = 1 below capacity)"

    def observable_expressions(self, F, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        return {"q": q, "qhat": qhat, "entropy": F, "complexity": F, "parisi_m": sympy.Integer(1)}

    def limits(self, F, choices):
        return {}                  # the RS q -> 1 capacity (4/pi) is not this ansatz's capacity


_KM_CAPACITY = {}


def krauth_mezard_capacity(kappa: float) -> float:
    """alpha_c(kappa) of the zero-entropy (Krauth-Mezard) saddle point, solved once per kappa."""
    if kappa not in _KM_CAPACITY:
        from ..solver import solve
        model = KrauthMezard()
        _KM_CAPACITY[kappa] = float(solve(model, model.resolve({"kappa": kappa, "rsb": "1"})).observables["alpha_c"])
    return _KM_CAPACITY[kappa]


# -- teacher-student learning with a binary teacher -------------------------------
class BinaryTeacherPrior(BinaryPrior):
    """Weights w_i = +-1 (uniform prior) and a binary teacher, gauged to T_i = +1.

    Entropic term with the conjugates qhat (of q) and Rhat (of R) kept as order parameters:
    -Rhat R - qhat (1 - q)/2 + int Dz ln 2cosh(sqrt(qhat) z + Rhat) (the n -> 0 limit of
    sum over w^a of exp(Rhat sum_a w^a + qhat sum_{a<b} w^a w^b) per replica, with
    sum_{a<b} w^a w^b = ((sum_a w^a)^2 - n)/2 linearised by z). At R = Rhat = 0 it is the storage prior's.
    """

    name = "binary, with a binary teacher"

    def entropy(self, q, R=0, qhat=None, Rhat=0):
        z = sympy.Symbol("z", real=True)
        return -Rhat * R - qhat * (1 - q) / 2 + GaussianAverage(LogTwoCosh(sympy.sqrt(qhat) * z + Rhat), z)


class _BinaryTeacher(IsingPerceptron):
    """Shared pieces of the teacher-student variants."""

    ansatz = "replica symmetric (Nishimori line)"
    simulated_observables = ("R", "q", "eps_g")
    # measured (Gibbs, alpha = 0.5, 1500-3000 instances a size): q = 0.3389(15), 0.3166(10), 0.3091(7),
    # 0.3066(9) at N = 8, 12, 16, 20 against 0.2931: not linear in 1/N (a linear fit has chi2/dof = 6.8
    # and misses by 2.3 sigma), a quadratic one describes the data (chi2/dof = 0.2)
    finite_size_powers = (1, 2)

    def simulated_for(self, params):
        return ("R", "q", "eps_g") if params.get("rule", "gibbs") == "gibbs" else ("R", "eps_g")

    def _nishimori_entropy(self, q, qhat, alpha):
        """s(q, qhat) = F(q, R = q, qhat, Rhat = qhat), composed by the engine."""
        return free_entropy(BinaryTeacherPrior(), SignTeacher(0, 0), VersionSpace(0), alpha, q, q,
                            qhat=qhat, Rhat=qhat)

    @staticmethod
    def _overlap(q, choices):
        """Teacher overlap of the student: a Gibbs sample has R = q, the centre of mass R/sqrt(q) = sqrt(q)."""
        return q if choices.get("rule", "gibbs") == "gibbs" else sympy.sqrt(q)

    def simulate_trial(self, params, n, rng):
        from ..simulators.ising_perceptron import MAX_N, teacher_student_trial
        if n > MAX_N:
            raise SimulationError(f"ising-perceptron simulation enumerates all 2^N weight vectors: N={n} is "
                                  f"out of range; allowed N <= {MAX_N}")
        return teacher_student_trial(n, params["alpha"], rng, rule=params["rule"])


class BinaryTeacherStudent(_BinaryTeacher):
    """The R < 1 branch at a given load, and the equilibrium state chosen by entropy."""

    order_parameters = (
        OrderParameter("q", "overlap of two posterior samples (= their overlap with the teacher)",
                       Interval(0.0, 1.0), guesses=(0.2, 0.6)),
        OrderParameter("qhat", "conjugate of q (= conjugate of R)", Interval(0.0, None), guesses=(0.3, 1.5)),
    )
    # several saddle points: the R < 1 branch and, at larger q, an unstable one (a minimum of the
    # potential between the branch and the R = 1 state) with lower free entropy
    select = "max"
    references = ()

    def free_energy(self, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        return self._nishimori_entropy(q, qhat, alpha)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q), 2]

    def observable_expressions(self, F, choices):
        q, qhat = (o.symbol for o in self.order_parameters)
        branch = sympy.Heaviside(F)          # 1 while the R < 1 branch has the larger entropy (> 0)
        R_branch = self._overlap(q, choices)
        R = branch * R_branch + (1 - branch)
        return {"q": branch * q + (1 - branch), "qhat": qhat, "entropy": branch * sympy.Abs(F),   # max(F, 0), never -0.0
                "R": R, "eps_g": sympy.acos(R) / sympy.pi, "perfect": 1 - branch,
                "R_branch": R_branch, "eps_g_branch": sympy.acos(R_branch) / sympy.pi, "entropy_branch": F}


class PerfectGeneralisation(_BinaryTeacher):
    """Above the spinodal only the R = 1 state (the teacher) remains: a single weight vector."""

    order_parameters = ()

    def free_energy(self, choices):
        return sympy.Integer(0)

    def limits(self, F, choices):
        one, zero = sympy.Integer(1), sympy.Integer(0)
        return {"R": one, "q": one, "eps_g": zero, "entropy": zero, "perfect": one}


class BinaryTeacherTransitions(_BinaryTeacher):
    """The thermodynamic transition alpha_th: the entropy of the R < 1 branch reaches 0, the entropy
    of the R = 1 state (equal free entropies). The stationary point of the Lagrangian
    L = alpha_th + lambda s(q, qhat; alpha_th) in (q, qhat, alpha_th, lambda), which imposes
    ds/dq = ds/dqhat = 0 and s = 0 (as for the Krauth-Mezard capacity)."""

    order_parameters = (
        OrderParameter("q", "overlap on the R < 1 branch at alpha_th", Interval(0.0, 1.0), guesses=(0.7,)),
        OrderParameter("qhat", "conjugate of q at alpha_th", Interval(0.0, None), guesses=(1.5,)),
        OrderParameter("alpha_th", "thermodynamic transition", Interval(0.0, None), guesses=(1.2,)),
        OrderParameter("lambda", "multiplier of s = 0", REAL, guesses=(2.5,)),
    )
    select = "min"
    references = ()

    def starting_points(self, params):
        return [(0.7, 1.5, 1.2, 2.5), (0.6, 1.2, 1.0, 2.0), (0.75, 2.0, 1.3, 3.0)]

    def free_energy(self, choices):
        q, qhat, alpha, lam = (o.symbol for o in self.order_parameters)
        return alpha + lam * self._nishimori_entropy(q, qhat, alpha)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q), 2, sympy.Integer(1), sympy.Integer(1)]

    def observable_expressions(self, F, choices):
        q, qhat, alpha, _ = (o.symbol for o in self.order_parameters)
        return {"alpha_th": alpha, "alpha_IT": alpha, "R_th": self._overlap(q, choices), "q": q, "qhat": qhat}


class BinarySpinodal(_BinaryTeacher):
    """The spinodal alpha_sp: the largest load at which the R < 1 branch exists.

    On the branch ds/dq = 0 is linear in alpha (only the energetic term depends on it), so SymPy
    solves it for alpha = A(q, qhat); the branch is then the curve ds/dqhat = 0 with alpha = A, and
    its end is the maximum of A along that curve: the stationary point of
    L = A(q, qhat) + mu 2 ds/dqhat(q, qhat; A) in (q, qhat, mu) (a fold of the saddle-point equations;
    AMP started from q = 0 stops there, so it is also the algorithmic threshold)."""

    order_parameters = (
        OrderParameter("q", "overlap on the R < 1 branch at alpha_sp", Interval(0.0, 1.0), guesses=(0.9,)),
        OrderParameter("qhat", "conjugate of q at alpha_sp", Interval(0.0, None), guesses=(3.2,)),
        OrderParameter("mu", "multiplier of ds/dqhat = 0", REAL, guesses=(-1.0,)),
    )
    select = "max"
    references = ()

    def starting_points(self, params):
        return [(0.9, 3.2, -1.0), (0.85, 2.5, -0.5), (0.93, 4.0, -2.0)]

    def _load(self):
        """A(q, qhat): ds/dq = 0 solved for alpha (linear), and the constraint ds/dqhat at alpha = A."""
        q, qhat, _ = (o.symbol for o in self.order_parameters)
        _, alpha = self._symbols()
        s = self._nishimori_entropy(q, qhat, alpha)
        s_q = sympy.expand(sympy.diff(s, q))
        slope = s_q.coeff(alpha)
        if slope == 0 or sympy.expand(s_q - slope * alpha).has(alpha):
            raise DerivationError(f"ds/dq is not linear in alpha: {s_q}")
        A = -sympy.expand(s_q - slope * alpha) / slope
        return A, sympy.diff(s, qhat).subs(alpha, A)

    def stable_equations(self, choices):
        """The gradient as differentiated, without Gaussian integration by parts: the integrated-by-parts
        form of dA/dq (second derivatives of ln H(x t) H(x t), x = sqrt(q/(1 - q))) loses about 1e-6 in
        double-precision quadrature (measured at the spinodal: 7.8e-7 against 2.6e-7 from both forms at
        30 digits), this form about 1e-10. Equal to the derived form (a test compares them at 20 digits)."""
        F = self.free_energy(choices)
        return [drop_null_deltas(sympy.diff(F, o.symbol)) for o in self.order_parameters]

    def free_energy(self, choices):
        mu = self.order_parameters[2].symbol
        A, s_qhat = self._load()
        return A + mu * 2 * s_qhat

    def observable_expressions(self, F, choices):
        q, qhat, _ = (o.symbol for o in self.order_parameters)
        A, _ = self._load()
        return {"alpha_sp": A, "alpha_alg": A, "R_sp": self._overlap(q, choices), "q": q, "qhat": qhat}
