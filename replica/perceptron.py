"""The single-layer perceptron engine: a replica-symmetric free entropy composed from parts.

A perceptron with N weights learns P = alpha N examples (xi_mu, y_mu), xi_mu ~ N(0, I_N).
Its replica-symmetric free entropy per weight is the sum of

* an **entropic** term from the weight prior (:class:`SphericalPrior`), a function of the
  overlaps q (two students) and R (student and teacher), and
* alpha times an **energetic** term from the labels (:class:`RandomLabels`, or a
  :class:`SignTeacher` with output noise and label flips) and the student's measure on its
  fields (:class:`VersionSpace`: every example classified with margin kappa; or the teacher's
  own channel, which is Bayes-optimal learning):

    G_E = sum_y int Dt Z_teacher(y; R t / sqrt(q), 1 - R^2/q) ln Z_student(y; sqrt(q) t, 1 - q),

where Z(y; omega, V) = int Dx P(y | omega + sqrt(V) x) is a channel's partition function at
mean field omega and variance V (Engel & Van den Broeck, "Statistical Mechanics of Learning",
2001, ch. 2-3 and appendix A2; Gardner & Derrida 1988). For channels symmetric under
y -> -y, omega -> -omega the sum over labels is twice the y = -1 term, which puts the
student's average in the foundation's form ln H((kappa + sqrt(q) t)/sqrt(1 - q)).

Each part is a few SymPy expressions; the package differentiates the composed free entropy
into the saddle-point equations, takes its q -> 1 limit with the asymptotic rules of
:mod:`replica.symbolic`, and renders it to LaTeX. Models compose parts:
:mod:`replica.models.gardner` (random labels), :mod:`replica.models.teacher_student`.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy

from .symbolic import H, GaussianAverage, LnH, LogTwoCosh

t = sympy.Symbol("t", real=True)


# -- weight priors (entropic term) ---------------------------------------------
class SphericalPrior:
    """Weights on the sphere |w|^2 = N, teacher on the same sphere.

    Entropic term with the conjugate order parameters eliminated (Gaussian integrals):
    1/2 ln(1 - q) + (q - R^2) / (2 (1 - q)) (Engel & Van den Broeck eq. (A2.14) with
    the teacher overlap; R = 0 gives Gardner 1988 eq. (30)).
    """

    name = "spherical"

    def entropy(self, q, R=0):
        return sympy.log(1 - q) / 2 + (q - R**2) / (2 * (1 - q))


class BinaryPrior:
    """Weights w_i = +-1 (uniform prior), storage problem (no teacher overlap).

    Entropic term with the conjugate qhat kept as an order parameter:
    -qhat (1 - q)/2 + int Dz ln 2cosh(sqrt(qhat) z) (Gardner & Derrida 1988, sec. 4;
    Krauth & Mezard 1989, eq. (3)); at qhat = 0 it is ln 2, the entropy of 2^N weight vectors.
    """

    name = "binary"

    def entropy(self, q, R=0, qhat=None):
        z = sympy.Symbol("z", real=True)
        if R != 0:
            raise NotImplementedError("binary prior with a teacher overlap: not yet composed")
        return -qhat * (1 - q) / 2 + GaussianAverage(LogTwoCosh(sympy.sqrt(qhat) * z), z)


# -- label channels (the teacher) ----------------------------------------------
class RandomLabels:
    """Labels independent of the inputs, +-1 with probability 1/2 (the storage problem)."""

    name = "random labels"
    has_teacher = False
    symmetric = True

    def z_out(self, y, omega, V):
        return sympy.Rational(1, 2)


@dataclass(frozen=True)
class SignTeacher:
    """y = sign(v + noise * eta), eta ~ N(0, 1), then flipped with probability ``flip``.

    Z(y; omega, V) = (1 - flip) H(-y omega / sqrt(V + noise^2)) + flip H(y omega / sqrt(V + noise^2)).
    ``noise`` and ``flip`` may be symbols (model parameters) or numbers.
    """

    noise: object = 0
    flip: object = 0
    name = "sign teacher"
    has_teacher = True
    symmetric = True

    def z_out(self, y, omega, V):
        s = sympy.sqrt(V + self.noise**2)
        return (1 - self.flip) * H(-y * omega / s) + self.flip * H(y * omega / s)

    def label_correlation(self):
        """m = E[y v] over v ~ N(0, 1): by Stein's lemma E[y v] = E[d/dv E(y | v)], with
        E(y | v) = (1 - 2 flip)(1 - 2 H(v / noise)); d/dv of it is 2 (1 - 2 flip) phi(v/noise)/noise,
        whose Gaussian average is 2 (1 - 2 flip) / sqrt(2 pi (1 + noise^2)) (integrated by SymPy)."""
        v = sympy.Symbol("v", real=True)
        s = sympy.Symbol("s", positive=True)
        density = sympy.exp(-v**2 / 2) / sympy.sqrt(2 * sympy.pi)
        slope = 2 * sympy.exp(-v**2 / (2 * s**2)) / (sympy.sqrt(2 * sympy.pi) * s)
        value = sympy.simplify(sympy.integrate(density * slope, (v, -sympy.oo, sympy.oo)))
        # continuous at noise -> 0 (the slope tends to 2 delta(v), whose average is 2 phi(0))
        return (1 - 2 * self.flip) * value.subs(s, self.noise)


# -- student measures (what the student does with its fields) ------------------
@dataclass(frozen=True)
class VersionSpace:
    """Zero-temperature Gibbs measure: every example classified with margin kappa,
    Z(y; omega, V) = H((kappa - y omega) / sqrt(V))."""

    kappa: object = 0
    name = "version space"
    symmetric = True

    def z_out(self, y, omega, V):
        return H((self.kappa - y * omega) / sympy.sqrt(V))

    def log_z_out(self, y, omega, V):
        return LnH((self.kappa - y * omega) / sympy.sqrt(V))


@dataclass(frozen=True)
class MatchedChannel:
    """The student's likelihood is the teacher's own channel: Bayes-optimal learning
    (the posterior; Nishimori: q = R at the saddle point)."""

    channel: object
    name = "matched (Bayes-optimal) likelihood"
    symmetric = True

    def z_out(self, y, omega, V):
        return self.channel.z_out(y, omega, V)

    def log_z_out(self, y, omega, V):
        z = self.z_out(y, omega, V)
        # the noiseless sign channel: ln H, written with the stable LnH
        if isinstance(z, H):
            return LnH(z.args[0])
        return sympy.log(z)


# -- composition ----------------------------------------------------------------
def energetic(channel, student, q, R=0, variable=t):
    """G_E = sum_y int Dt Z_teacher(y; R t/sqrt(q), 1 - R^2/q) ln Z_student(y; sqrt(q) t, 1 - q)."""
    if channel.has_teacher:
        omega_t, V_t = R * variable / sympy.sqrt(q), 1 - R**2 / q
    else:
        omega_t, V_t = 0, 1
    omega_s, V_s = sympy.sqrt(q) * variable, 1 - q
    labels = (-1,) if channel.symmetric and student.symmetric else (-1, 1)
    weight = 2 if len(labels) == 1 else 1
    total = sympy.S.Zero
    for y in labels:
        integrand = _tidy_arguments(channel.z_out(y, omega_t, V_t) * student.log_z_out(y, omega_s, V_s), q)
        coeff, rest = integrand.as_independent(variable, as_Add=False)
        total += weight * coeff * GaussianAverage(rest, variable)
    return total


def _tidy_arguments(expr, q):
    """Simplify the arguments of H and ln H for q > 0 (R t/(sqrt(q) sqrt(1 - R^2/q)) -> R t/sqrt(q - R^2))."""
    if not isinstance(q, sympy.Symbol):
        return expr
    qp = sympy.Symbol(q.name + "_positive", positive=True)

    def tidy(arg):
        return sympy.simplify(arg.subs(q, qp)).subs(qp, q)

    return expr.replace(lambda e: isinstance(e, (H, LnH)), lambda e: e.func(tidy(e.args[0])))


def free_entropy(prior, channel, student, alpha, q, R=0, **conjugates):
    """The RS free entropy per weight: prior entropy + alpha * energetic term (``conjugates``:
    order parameters of a prior whose entropy keeps them, e.g. ``qhat`` of :class:`BinaryPrior`)."""
    return prior.entropy(q, R, **conjugates) + alpha * energetic(channel, student, q, R)
