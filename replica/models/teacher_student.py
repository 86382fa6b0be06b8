"""Teacher-student learning of the spherical perceptron, composed with the perceptron engine.

A spherical teacher T labels Gaussian inputs, y = sign(v + noise eta) with v = T.xi/sqrt(N),
each label then flipped with probability ``flip``; a spherical student learns P = alpha N
examples by one of four rules (Engel & Van den Broeck, "Statistical Mechanics of Learning",
Cambridge 2001, ch. 2-5; Seung, Sompolinsky & Tishby, Phys. Rev. A 45, 6056 (1992)):

* ``gibbs``: a random point of version space (zero-temperature Gibbs learning);
* ``bayes``: the Bayes-optimal student, the centre of mass of the posterior whose likelihood
  is the teacher's own channel (Nishimori: q = R; the centre of mass has overlap R / sqrt(q));
* ``hebb``: w = sum_mu y_mu xi_mu, in closed form: R = m sqrt(alpha)/sqrt(1 + alpha m^2) with
  m = E[y v] derived from the channel (Engel & Van den Broeck eq. (2.35) for noiseless labels);
* ``max-margin``: the maximal-stability student (hard-margin SVM): the largest margin kappa
  with a non-empty version space. From the version-space free entropy the package takes the
  q -> 1 limit: s ~ A(R, kappa)/(1 - q), and the max-margin student maximises kappa subject to
  A = 0, written as the stationary point of the Lagrangian kappa + lambda A(R, kappa).

Every saddle-point equation is the derivative of a free entropy composed in
:mod:`replica.perceptron`; the generalisation error is eps_g = arccos(R)/pi (disagreement with
the noiseless teacher on a fresh input); ``eps_g_labels`` is the error against fresh noisy
labels, flip + (1 - 2 flip) arccos(R / sqrt(1 + noise^2))/pi.
"""
from __future__ import annotations

import math

import sympy

from ..errors import ParameterError
from ..model import DerivedLimit, Model, Reference
from ..params import NONNEGATIVE, POSITIVE, Interval, Observable, OrderParameter, Parameter
from ..perceptron import MatchedChannel, SignTeacher, SphericalPrior, VersionSpace, free_entropy, t
from ..symbolic import LnH, LogAddExp, apply_asymptotic_rules, drop_null_deltas, leading_coefficient

RULES = ("gibbs", "bayes", "hebb", "max-margin")
epsilon = sympy.Symbol("epsilon", positive=True)


class TeacherStudent(Model):
    name = "teacher-student"
    title = "Teacher-student perceptron learning (replica symmetric)"
    description = ("A spherical student learns a spherical teacher's (noisy) labels by Gibbs, Bayes-optimal, "
                   "Hebb or max-margin learning: teacher-student overlap R, generalisation error eps_g "
                   "(against the noiseless rule) and eps_g_labels (against fresh noisy labels).")
    parameters = (
        Parameter("alpha", "examples per weight P/N", POSITIVE, 1.0, latex="alpha"),
        Parameter("rule", "learning rule", default="gibbs", kind="categorical", choices=RULES),
        Parameter("noise", "std of Gaussian output noise on the teacher's field", NONNEGATIVE, 0.0,
                  latex="sigma"),
        Parameter("flip", "probability that a label is flipped", Interval(0.0, 0.5, lower_closed=True), 0.0,
                  latex="p"),
    )
    observables = (
        Observable("R", "teacher-student overlap (for bayes: of the centre of mass)"),
        Observable("q", "overlap of two students (gibbs, bayes)"),
        Observable("eps_g", "generalisation error against the noiseless teacher, arccos(R)/pi"),
        Observable("eps_g_labels", "error against fresh noisy labels"),
        Observable("eps_t", "training error (0 in version space)"),
        Observable("kappa", "margin of the max-margin student"),
    )
    free_energy_name = "free entropy"
    ansatz = "replica symmetric"
    simulated_observables = ("R", "eps_g")
    finite_size_powers = (1,)
    quick_compares = ({"params": {"alpha": 2.0, "rule": "hebb"}, "n": [50, 100, 200], "trials": 40, "seed": 1},
                      {"params": {"alpha": 2.0, "rule": "max-margin"}, "n": [50, 100, 200], "trials": 40,
                       "seed": 1})
    verify_compares = quick_compares + (
        {"params": {"alpha": 1.0, "rule": "gibbs"}, "n": [20, 40, 80], "trials": 16, "seed": 3},)
    references = (
        Reference({"alpha": 1.0, "rule": "hebb"}, "R", math.sqrt(2 / math.pi) / math.sqrt(1 + 2 / math.pi), 1e-15,
                  "Hebb rule, R = sqrt(2 alpha/pi)/sqrt(1 + 2 alpha/pi) (Vallet 1989; Engel & Van den Broeck "
                  "2001, sec. 2.3)"),
        Reference({"alpha": 1.0, "rule": "gibbs"}, "R", 0.4862636370161166, 1e-12,
                  "zero-temperature Gibbs learning, R/sqrt(1-R) = (alpha/pi) int Dt exp(-R t^2/2)/H(-sqrt(R) t) "
                  "(Engel & Van den Broeck 2001, eq. (2.42)), solved independently with quad + brentq"),
        Reference({"alpha": 1.0, "rule": "bayes"}, "R", math.sqrt(0.4862636370161166), 1e-12,
                  "Bayes (centre of mass) R_B = sqrt(R_Gibbs) (Opper & Haussler 1991; Engel & Van den Broeck "
                  "2001, sec. 3.6)"),
    )

    def variant(self, params):
        rule = params.get("rule") or "gibbs"
        if rule in ("gibbs", "bayes") and not params.get("noise") and not params.get("flip"):
            # noiseless labels: version space is the posterior of the teacher's own channel
            return NishimoriStudent() if rule == "gibbs" else NishimoriBayesStudent()
        return _VARIANTS[rule]()

    # -- shared pieces -----------------------------------------------------------
    def _symbols(self):
        alpha, _, noise, flip = self.parameters
        return alpha.symbol, noise.symbol, flip.symbol

    def _teacher(self):
        _, noise, flip = self._symbols()
        return SignTeacher(noise, flip)

    def _errors(self, R):
        _, noise, flip = self._symbols()
        return {"eps_g": sympy.acos(R) / sympy.pi,
                "eps_g_labels": flip + (1 - 2 * flip) * sympy.acos(R / sympy.sqrt(1 + noise**2)) / sympy.pi}

    def stable_equations(self, choices):
        """The scaled gradient as differentiated, without Gaussian integration by parts: for these
        integrands Stein's lemma multiplies the number of terms (measured: 7000 operations against
        about 100 for Bayes with label flips), brings ratios of exponentials that overflow, and
        leaves boundary delta functions where the integrand has a Heaviside factor (max-margin).
        Equal to the derived form (the contract battery checks it)."""
        F = self.free_energy(choices)
        return [drop_null_deltas(s * sympy.diff(F, o.symbol))
                for s, o in zip(self.equation_scales(choices), self.order_parameters)]

    def simulate_trial(self, params, n, rng):
        from ..simulators.teacher_student import trial
        return trial(params["rule"], n, params["alpha"], rng, noise=params["noise"], flip=params["flip"])


class GibbsStudent(TeacherStudent):
    """Zero-temperature Gibbs learning: the version space's free entropy, extremised in (q, R)."""

    order_parameters = (
        OrderParameter("q", "overlap of two students in version space", Interval(0.0, 1.0), guesses=(0.5,)),
        OrderParameter("R", "teacher-student overlap", Interval(-1.0, 1.0), guesses=(0.5,)),
    )
    select = "min"
    simulated_observables = ("R", "q", "eps_g")
    references = ()

    def free_energy(self, choices):
        q, R = (o.symbol for o in self.order_parameters)
        alpha, _, _ = self._symbols()
        return free_entropy(SphericalPrior(), self._teacher(), VersionSpace(0), alpha, q, R)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q)**2, 1 - q]


    def observable_expressions(self, F, choices):
        q, R = (o.symbol for o in self.order_parameters)
        return {"R": R, "q": q, **self._errors(R), "eps_t": sympy.Integer(0)}


class BayesStudent(TeacherStudent):
    """Bayes-optimal learning: the student's likelihood is the teacher's channel. On the
    Nishimori line q = R the two stationarity conditions coincide (d/dq F(q, q) = F_q + F_R),
    so the free entropy is F(q, R = q), maximised over q (e.g. Zdeborova & Krzakala,
    Adv. Phys. 65, 453 (2016), sec. 4; Barbier et al., PNAS 116, 5451 (2019))."""

    order_parameters = (
        OrderParameter("q", "overlap of two posterior samples (= their overlap with the teacher)",
                       Interval(0.0, 1.0), guesses=(0.5,)),
    )
    select = "max"
    simulated_observables = ("R", "eps_g")

    def _student(self):
        _, noise, flip = self._symbols()
        return _FlippedSign(noise, flip)

    def free_energy(self, choices):
        q = self.order_parameters[0].symbol
        alpha, _, _ = self._symbols()
        return free_entropy(SphericalPrior(), self._teacher(), self._student(), alpha, q, q)

    def equation_scales(self, choices):
        q = self.order_parameters[0].symbol
        return [2 * (1 - q)]

    def observable_expressions(self, F, choices):
        q = self.order_parameters[0].symbol
        RB = sympy.sqrt(q)       # overlap of the posterior's centre of mass with the teacher: R/sqrt(q)
        return {"R": RB, "q": q, **self._errors(RB)}


class NishimoriStudent(BayesStudent):
    """Zero-temperature Gibbs learning of noiseless labels: version space is the posterior of
    the noiseless sign channel, so Gibbs samples sit on the Nishimori line (R = q)."""

    def equation_scales(self, choices):
        """2 (1 - q)^2: dF/dq has terms of order 1/(1 - q) that cancel at the saddle point, and
        the equation times 2 (1 - q) still moves by ~1/(1 - q) per unit of q, so one ulp of q near 1
        left a residual ~1e-11 at alpha = 1e3 (1e-9 at 1e4). With the second factor the residual
        measures q's own error, which double precision resolves (tested to alpha = 1e5)."""
        q = self.order_parameters[0].symbol
        return [2 * (1 - q)**2]

    simulated_observables = ("R", "q", "eps_g")

    def _teacher(self):
        return SignTeacher(0, 0)      # used only for noiseless labels (see TeacherStudent.variant)

    def _student(self):
        return VersionSpace(0)

    def observable_expressions(self, F, choices):
        q = self.order_parameters[0].symbol
        return {"R": q, "q": q, **self._errors(q), "eps_t": sympy.Integer(0)}


class NishimoriBayesStudent(NishimoriStudent):
    """Bayes-optimal learning of noiseless labels: the Nishimori-line saddle point of Gibbs learning
    (the same free entropy, q = R), reported for the posterior's centre of mass, R_B = sqrt(q)."""

    simulated_observables = BayesStudent.simulated_observables
    observable_expressions = BayesStudent.observable_expressions


class _FlippedSign(MatchedChannel):
    """The sign channel with noise and flips as a student likelihood, its logarithm written
    as LogAddExp(ln(1-p) + ln H(-y w/s), ln p + ln H(y w/s)) so that p = 0 and |w/s| >> 1 stay finite."""

    def __init__(self, noise, flip):
        super().__init__(SignTeacher(noise, flip))

    def log_z_out(self, y, omega, V):
        ch = self.channel
        s = sympy.sqrt(V + ch.noise**2)
        return LogAddExp(sympy.log(1 - ch.flip) + LnH(-y * omega / s), sympy.log(ch.flip) + LnH(y * omega / s))


class HebbStudent(TeacherStudent):
    """Hebb's rule in closed form (no saddle point)."""

    order_parameters = ()

    def free_energy(self, choices):
        return sympy.Integer(0)

    def limits(self, F, choices):
        alpha, _, _ = self._symbols()
        m = self._teacher().label_correlation()
        R = m * sympy.sqrt(alpha) / sympy.sqrt(1 + alpha * m**2)
        steps = (("m = E[y v]", m, "the label-field correlation of the teacher's channel (Stein's lemma)"),)
        out = {"R": DerivedLimit(R, steps)}
        out.update(self._errors(R))
        return out


class MaxMarginStudent(TeacherStudent):
    """The maximal-stability student from the q -> 1 limit of the version-space free entropy."""

    order_parameters = (
        OrderParameter("R", "teacher-student overlap", Interval(0.0, 1.0), guesses=(0.6,)),
        OrderParameter("kappa", "margin", Interval(0.0, None), guesses=(0.5,)),
        OrderParameter("lambda", "Lagrange multiplier of A = 0", Interval(0.0, None), guesses=(1.0,)),
    )
    select = "max"
    simulated_observables = ("R", "kappa", "eps_g")

    def _leading(self):
        """A(R, kappa): the coefficient of 1/(1-q) in the version-space free entropy at margin kappa."""
        R, kappa, _ = (o.symbol for o in self.order_parameters)
        q = sympy.Symbol("q", real=True)
        alpha, _, _ = self._symbols()
        F = free_entropy(SphericalPrior(), self._teacher(), VersionSpace(kappa), alpha, q, R)
        return leading_coefficient(apply_asymptotic_rules(F.subs(q, 1 - epsilon)), epsilon, 1)

    def free_energy(self, choices):
        R, kappa, lam = (o.symbol for o in self.order_parameters)
        return kappa + lam * self._leading()

    def equation_scales(self, choices):
        """The R equation times 1 - R^2: its derivative in R grows like lambda/(1 - R^2) as R -> 1
        (the teacher's field enters through GaussPDF(R t/sqrt(1 - R^2))), so unscaled a rounding of
        R by one ulp moves it by ~1e-10 at alpha = 300 and the residual cannot reach 1e-12. The R and
        kappa equations (both lambda times a derivative of the leading coefficient, plus 1 for kappa)
        are also divided by 1 + lambda: lambda grows like alpha, and at alpha = 1e3 their rounding
        alone was ~6e-12."""
        R, _, lam = (o.symbol for o in self.order_parameters)
        return [(1 - R**2) / (1 + lam), 1 / (1 + lam), sympy.Integer(1)]

    def starting_points(self, params):
        """Near the noiseless curve: kappa ~ 1/(alpha + 0.3), 1 - R ~ 1.2/(1 + alpha)^2 (within 10%
        for alpha in [0.5, 50], measured), and lambda = -1/(dA/dkappa) bracketed by four values;
        at the solution L = kappa, so selecting the largest L selects the largest margin."""
        a = float(params["alpha"])
        R0 = max(0.3, 1 - 1.2 / (1 + a)**2)
        k0 = 1 / (a + 0.3)
        return [(R0, k0, lam) for lam in (1 / a, 1.0, a, 3 * a)]

    def observable_expressions(self, F, choices):
        R, kappa, _ = (o.symbol for o in self.order_parameters)
        return {"R": R, "kappa": kappa, **self._errors(R), "eps_t": sympy.Integer(0)}


_VARIANTS = {"gibbs": GibbsStudent, "bayes": BayesStudent, "hebb": HebbStudent, "max-margin": MaxMarginStudent}
