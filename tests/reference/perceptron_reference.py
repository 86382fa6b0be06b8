#!/usr/bin/env python
"""Independent high-precision reference values for the perceptron family.

Run from the repository root:

    python tests/reference/perceptron_reference.py     # writes tests/reference/perceptron_values.json

Self-contained: only ``mpmath`` and the standard library.  It does NOT import
the ``replica`` package; every formula below was re-derived by hand from the
replica-symmetric (RS) free entropies in the cited papers, and the derivations
are summarised next to each formula.

Conventions
-----------
    Dz     = exp(-z^2/2) dz / sqrt(2 pi),   phi(x) = exp(-x^2/2)/sqrt(2 pi)
    H(x)   = erfc(x/sqrt 2)/2 = int_x^inf Dz,   Phi(x) = 1 - H(x) = H(-x)
    g(u)   = phi(u)/H(u)
    Spherical weights |J|^2 = N (teacher |T|^2 = N), alpha = P/N, teacher-student
    overlap R = J.T/N, student-student overlap q.  Noiseless sign teacher.
    Generalization error of a student with overlap R: eps = arccos(R)/pi
    (probability that sign(J.x) != sign(T.x) for a Gaussian input x).
    Entropies are natural logarithms per weight.

Equation numbers: equation numbers of Engel & Van den Broeck (E&VdB), "Statistical
Mechanics of Learning" (CUP 2001) are NOT quoted below, because the book text was not
available to verify them; chapters are cited instead.  Every formula is derived here.

1. Gibbs learning, spherical, noiseless, T = 0 (uniform measure on the version space)
   [E. Gardner & B. Derrida, J. Phys. A 22, 1983 (1989); G. Gyorgyi & N. Tishby (1990);
    H.S. Seung, H. Sompolinsky, N. Tishby, PRA 45, 6056 (1992) (SST92); E&VdB ch. 2]
   RS free entropy with teacher overlap R and student overlap q; the version-space
   measure is the Bayes posterior, so the Nishimori symmetry q = R holds:
       s(R) = 1/2 ln(1-R) + R/2 + 2 alpha int Dt H(-x t) ln H(-x t),  x = sqrt(R/(1-R)).
   (Fields: lambda_a = sqrt(q) t + sqrt(1-q) y_a, teacher field u = R/sqrt(q) t + ...;
    P(u>0|t) = H(-R t/sqrt(q-R^2)) and P(lambda_a>0|t) = H(-sqrt(q/(1-q)) t); both
    arguments equal -x t at q = R.)
   ds/dR = 0: with d/dx[2 int Dt H(-xt) ln H(-xt)] = 2x/(1+x^2) int Dt phi(xt)^2/H(-xt)
   (integration by parts int Dt t F = int Dt F') and the substitution t = sqrt(1-R) s:
       R / sqrt(1-R) = (alpha/pi) I(R),   I(R) = int Ds exp(-R s^2/2) / H(sqrt(R) s).
   Large alpha: 1-R -> 0, I(R) -> I_1 = I(1) = int Dt exp(-t^2/2)/H(t) (convergent), so
   1/sqrt(1-R) ~ alpha I_1/pi and eps = arccos(R)/pi ~ sqrt(2(1-R))/pi:
       eps_Gibbs ~ c_G/alpha,   c_G = sqrt(2)/I_1   (literature: 0.625, E&VdB ch. 2).

2. Bayes-optimal (centre of mass of the version space) spherical student
   [M. Opper & D. Haussler, PRL 66, 2677 (1991); T. Watkin, Europhys. Lett. 21, 871 (1993);
    E&VdB ch. 3]: the centre of mass J_B = <J> has J_B.T/N = R and |J_B|^2/N = q = R, so
       R_B = R/sqrt(q) = sqrt(R),   eps_B = arccos(sqrt(R))/pi,
   with R the Gibbs overlap of item 1.  Large alpha: eps_B ~ c_B/alpha, c_B = c_G/sqrt2
   = 1/I_1 (literature 0.442; the Gibbs/Bayes ratio tends to sqrt 2).

3. Hebb rule J = N^{-1/2} sum_mu sign(u_mu) xi_mu  [E&VdB ch. 3; F. Vallet, Europhys. Lett. 8, 747 (1989)]:
   J.T = sum_mu |u_mu| ~ P sqrt(2/pi);  |J|^2 = P + P^2 (2/pi)/N  (cross terms:
   xi_mu.xi_nu = u_mu u_nu + (random part of zero mean)), hence exactly (N -> inf)
       R_H = sqrt(2 alpha/pi) / sqrt(1 + 2 alpha/pi) = sqrt(2 alpha/(pi + 2 alpha)),
       eps_H = arccos(R_H)/pi     (large alpha: eps_H ~ 1/sqrt(2 pi alpha)).

4. Maximal stability (hard-margin SVM through the origin) student, noiseless teacher
   [M. Opper, W. Kinzel, J. Kleinz, R. Nehl, J. Phys. A 23, L581 (1990); E&VdB ch. 3].
   Gardner volume of students with sign(u) lambda >= kappa; in the limit q -> 1
       2(1-q) s  ->  1 - R^2 - 2 alpha A(R,kappa),
       A(R,kappa) = int_{-inf}^{kappa} Dt H(-R t/delta) (kappa - t)^2,  delta = sqrt(1-R^2).
   The maximal kappa at given alpha is where the max over R of this coefficient vanishes:
       (i)  1 - R^2 = 2 alpha A(R, kappa)
       (ii) d/dR = 0:  R delta^3 = -alpha B,  B = int_{-inf}^{kappa} Dt (kappa-t)^2 t phi(R t/delta)
   B in closed form (phi(t) phi(a t) = phi(t/delta)/sqrt(2 pi), truncated normal moments,
   b = kappa/delta):  B = -2 delta^4 (b Phi(b) + phi(b)) / sqrt(2 pi), so (ii) reads
       R = 2 alpha delta (b Phi(b) + phi(b)) / sqrt(2 pi).
   Given R, (ii) fixes b (psi(b) = b Phi(b) + phi(b) is increasing, psi' = Phi); then (i)
   is one equation for R.  Large alpha: with t = delta s, kappa = delta k,
       A -> delta^3 A_s(k)/sqrt(2 pi), A_s(k) = int_{-inf}^k Phi(s)(k-s)^2 ds
          = [(k^3+3k) Phi(k) + (k^2+2) phi(k)]/3,
       B -> -2 delta^4 psi(k)/sqrt(2 pi),
   and (i),(ii) give A_s(k) = psi(k), i.e.  k^3 Phi(k) = (1 - k^2) phi(k)  (root k*),
   alpha delta -> sqrt(2 pi)/(2 psi(k*)), eps ~ delta/pi, so
       eps_SVM ~ c_S/alpha,  c_S = 1/(sqrt(2 pi) psi(k*))   (literature 0.5005),
       alpha kappa -> k* sqrt(2 pi)/(2 psi(k*)).

5. Noisy teacher: label flips with probability p (output noise), Gibbs student at T = 0
   (uniform on the students with ZERO training error, i.e. the version space of the
   noisy training set) [E&VdB ch. 5 "Noisy teachers"; SST92 sec. on unrealizable rules].
   Here q != R.  With gamma = R/sqrt(q-R^2), x = sqrt(q/(1-q)),
   P_p(t) = p + (1-2p) H(-gamma t) (probability that the label given t is +1):
       s(q,R) = 1/2 ln(1-q) + (q-R^2)/(2(1-q)) + 2 alpha int Dt P_p(t) ln H(-x t).
   Stationarity (d gamma/dR = q/(q-R^2)^{3/2}, d gamma/dq = -R/(2(q-R^2)^{3/2}),
   dx/dq = 1/(2x(1-q)^2)), simplified by eliminating the gamma-derivative:
       E1:  R/(q(1-q)) = alpha Gg/(q-R^2)^{3/2},  Gg = 2(1-2p) int Dt t phi(gamma t) ln H(-x t)
       E2:  q - R^2/q + alpha Gx/x = 0,           Gx = 2 int Dt P_p(t) t g(-x t)
   (p = 0: q = R solves E2 identically and E1 reduces to item 1.)  The version space is
   an intersection of half-spaces with the sphere (spherically convex), so RS is expected
   to be exact up to its disappearance.  It disappears at alpha_c(p) where q -> 1; there
   (same q -> 1 expansion as item 4 with kappa = 0 and weight P_p):
       1 - R^2 = 2 alpha [ p/2 + (1-2p)(1/4 - (arcsin R + R delta)/(2 pi)) ],
       R = alpha (1-2p) delta / pi,
   using int_0^inf Dt t^2 H(a t) = 1/4 - (atan a + a/(1+a^2))/(2 pi), a = R/delta.
   Two generalization errors are reported:
       eps_rule  = arccos(R)/pi                      (disagreement with the noiseless teacher rule)
       eps_label = p + (1-2p) arccos(R)/pi           (error on fresh, equally noisy labels)
   Over-fitting: R(alpha) reaches a maximum at alpha* < alpha_c(p) and then decreases,
   so eps_rule is non-monotone (minimum eps* at alpha*, larger at alpha_c).
   For comparison, the Bayes-optimal student (posterior with the true noise model, i.e.
   Gibbs learning at the Nishimori temperature exp(-beta) = p/(1-p), q = R):
       R/sqrt(1-R) = (alpha (1-2p)^2/pi) int Ds exp(-R s^2/2) / [p + (1-2p) H(sqrt(R) s)]
   (derived like item 1 with ln[e^-beta + (1-e^-beta) H] = ln P_p - ln(1-p)),
       eps_rule^Bayes = arccos(sqrt R)/pi   (Bayes-optimal classifier = centre of mass).

6. Binary (Ising) perceptron storage, J in {-1,+1}^N, constraints lambda >= kappa
   [E. Gardner & B. Derrida, J. Phys. A 21, 271 (1988); W. Krauth & M. Mezard,
    J. Phys. France 50, 3057 (1989)].  RS entropy
       s(q,qh) = -qh(1-q)/2 + int Dz ln 2cosh(sqrt(qh) z) + alpha int Dt ln H(u),
       u = (kappa + sqrt(q) t)/sqrt(1-q),
   stationary at  q = int Dz tanh^2(sqrt(qh) z),  qh = alpha/(1-q) int Dt g(u)^2.
   * RS "capacity" (q -> 1; qh ~ (2/pi)/(1-q)^2, entropic part -> (1/pi)/(1-q)):
       alpha_RS(kappa) = 2 / (pi int_{-kappa}^inf Dt (t+kappa)^2)
                       = 2 / (pi [(1+kappa^2) H(-kappa) + kappa phi(kappa)]),  = 4/pi at kappa = 0.
     (Same formula: S. Nakajima, arXiv:2512.23195.)  Unphysical (exceeds 1 at kappa = 0).
   * Krauth-Mezard 1RSB capacity = the alpha at which the RS entropy (at its saddle point
     with q < 1) vanishes (frozen 1RSB / entropy-vanishing criterion):  s_RS(alpha_KM) = 0.

7. Binary teacher-student, Gibbs learning at T = 0 (= Bayes posterior, Nishimori q = R)
   [G. Gyorgyi, PRA 41, 7097 (1990); H. Sompolinsky, N. Tishby, H.S. Seung, PRL 65, 1683
    (1990); J. Barbier, F. Krzakala, N. Macris, L. Miolane, L. Zdeborova, PNAS 116, 5451
    (2019) (BKMMZ)].  Version-space entropy (teacher gauged to T_i = +1):
       s(q,qh) = int Dz ln 2cosh(sqrt(qh) z + qh) - qh (1+q)/2 + 2 alpha int Dt H(-xt) ln H(-xt),
   x = sqrt(q/(1-q)); this is ln 2 + the BKMMZ RS potential with Rademacher prior and sign
   channel.  Stationarity: q = m(qh) := int Dz tanh(sqrt(qh) z + qh)  (Nishimori
   E tanh = E tanh^2), and, exactly as in item 1,  qh = alpha I(q)/(pi sqrt(1-q)), i.e. on
   the branch alpha(q) = pi qh(q) sqrt(1-q) / I(q).  The R = 1 state has s = 0.
   * alpha_IT (= Gyorgyi's thermodynamic first-order transition alpha_GD): s = 0 on the
     R < 1 branch (above it the R = 1 state dominates).
   * alpha_sp = alpha_alg: the R < 1 branch ends at the maximum of alpha(q) (spinodal,
     d alpha/dq = 0); AMP / state evolution started from q = 0 follows this branch, so
     this is the algorithmic threshold.  Computed from
       d ln alpha/dq = qh'(q)/qh - 1/(2(1-q)) - I'(q)/I(q) = 0,
       qh'(q) = 1/m'(qh),  m'(qh) = int Dz sech^2 x (1 - tanh x)  (by parts),
       I'(q) = int Ds [ -s^2/2 e^{-q s^2/2}/H(sqrt(q) s) + e^{-q s^2/2} phi(sqrt(q) s) s/(2 sqrt(q) H(sqrt(q) s)^2) ].
   * Generalization errors on the R < 1 branch: Gibbs eps = arccos(q)/pi, Bayes-optimal
     eps = arccos(sqrt(q))/pi (posterior-mean field has correlation sqrt(q) with the teacher).

Numerics
--------
* Gaussian integrals: mpmath.quad (Gauss-Legendre) on [-L, L] (or [-L, upper]), L chosen
  so that the Gaussian tail is < 10^-(dps+15); breakpoints on a uniform grid plus, around
  every kink / scale (center c, width w), at c +- k w for slowly growing k; no interval
  is longer than the grid step.  Integrands evaluated with 10 guard digits.  Integrands
  of the form "O(1) non-smooth part + exponentially small part" (ln 2cosh, tanh) are
  split: the non-smooth part is integrated in closed form
  (E|a Z + b| = a sqrt(2/pi) e^{-b^2/2a^2} + b (1 - 2 H(b/a)), E sign(aZ+b) = 1 - 2H(b/a)),
  only the decaying remainder numerically.
* Every equation is coded once against a small "backend" (mpmath, or Python floats with
  math.erfc and a fixed 20-point composite Gauss-Legendre rule).  The float backend only
  produces SEEDS: bracketing regula falsi (Illinois) on a verified sign change for 1-d
  problems and nested 1-d problems (e.g. q -> qhat(q) -> entropy), damped Newton with
  continuation (in alpha, or in the noise level p from the noiseless solution) for the
  noisy-teacher 2-d system.  Seeds are accurate to ~1e-12.
* Full precision: chord-Newton polishing of the seed with a central-difference
  derivative/Jacobian (step 10^-(dps/2)) computed once at the seed; the iterate must stay
  within 1e-7 of the seed and converge to |step| < 10^-(dps-6).  Residuals are stored.
* The whole computation runs twice (main: dps 36, grid step 2, breakpoint set A;
  check: dps 44, shifted grid step 1.5, breakpoint set B, larger cutoff) in two
  processes; "abs_err_estimate" = |main - check| (derived quantities such as eps: the
  overlap's estimate propagated).  Values are the main run rounded to 30 significant
  digits.
* The location alpha* of the over-fitting minimum (item 5) is the zero of dR/dalpha
  (implicit differentiation: d(q,R)/dalpha = -J^{-1} dF/dalpha), found by a secant
  iteration at 20 digits; it is stored to 12 digits.  The minimum value itself is
  recomputed at full precision at the rounded alpha* (error O(|d alpha*|^2)).
* Run time: about 5 (main, incl. checks) and 7.5 (check) CPU minutes, run in parallel.
"""

import json
import math
import multiprocessing as mpr
import os
import time

import mpmath as mp
from mpmath import mpf

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "perceptron_values.json")
NSIG = 30

CONFIGS = {
    "main": dict(dps=36, grid_step=2.0, grid_offset=0.0, extra_L=1.0,
                 ks=[0, 0.5, 1, 2, 3, 5, 8, 12, 18, 27, 40]),
    "check": dict(dps=44, grid_step=1.5, grid_offset=0.6, extra_L=2.5,
                  ks=[0, 0.7, 1.4, 2.5, 4, 6, 9, 14, 21, 32, 48]),
}
MIDDPS = 20          # precision of the search for the location alpha* of an extremum
CFG = None
VERBOSE = bool(os.environ.get("PERCEPTRON_REF_VERBOSE"))
QUAD_ERR = [mpf(0)]  # largest mpmath quadrature error estimate seen (diagnostic)

ALPHAS_GIBBS = ["0.5", "1", "2", "5", "10", "50"]
ALPHAS_SVM = ["0.5", "1", "2", "5"]
NOISE_P = "0.1"
ALPHAS_NOISY = ["1", "2", "2.5", "2.8", "2.95"]
KAPPAS_ISING = ["0", "0.5", "1"]


# ---------------------------------------------------------------------------
# backends: every equation is written once, against a backend B that is either
# mpmath (full precision, adaptive Gauss-Legendre) or Python floats (fixed 20-point
# composite Gauss-Legendre, stdlib math) -- the latter only produces seeds.
# ---------------------------------------------------------------------------

class MPBackend:
    name = "mp"

    def __init__(self):
        self.exp, self.log, self.log1p, self.sqrt = mp.exp, mp.log, mp.log1p, mp.sqrt
        self.tanh, self.asin, self.acos, self.sign = mp.tanh, mp.asin, mp.acos, mp.sign

    @property
    def pi(self):
        return +mp.pi

    def num(self, x):
        return mpf(x)

    def H(self, x):
        return mp.erfc(x / mp.sqrt(2)) / 2

    def phi(self, x):
        return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)

    def sech(self, x):
        return mp.sech(x)

    def pair(self, a, b):
        return mp.mpc(a, b)

    def gavg(self, f, centers=(), upper=None):
        return gauss_avg(f, centers, upper)


class FloatBackend:
    name = "float"
    _nodes = None

    def __init__(self):
        self.exp, self.log, self.log1p, self.sqrt = math.exp, math.log, math.log1p, math.sqrt
        self.tanh, self.asin, self.acos = math.tanh, math.asin, math.acos
        self.pi = math.pi

    def num(self, x):
        return float(x)

    def sign(self, x):
        return (x > 0) - (x < 0)

    def H(self, x):
        return 0.5 * math.erfc(x / math.sqrt(2))

    def phi(self, x):
        return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    def sech(self, x):
        e = math.exp(-abs(x))
        return 2 * e / (1 + e * e)

    def pair(self, a, b):
        return complex(a, b)

    @classmethod
    def nodes(cls):
        if cls._nodes is None:  # 20-point Gauss-Legendre rule (computed once with mpmath)
            with mp.workdps(30):
                n = 20
                xs, ws = [], []
                for i in range(1, n + 1):
                    x = mp.cos(mp.pi * (i - mpf(1) / 4) / (n + mpf(1) / 2))
                    for _ in range(100):
                        p0, p1 = mpf(1), x
                        for k in range(2, n + 1):
                            p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                        dp = n * (x * p1 - p0) / (x * x - 1)
                        dx = p1 / dp
                        x -= dx
                        if abs(dx) < mpf(10) ** -28:
                            break
                    xs.append(float(x))
                    ws.append(float(2 / ((1 - x * x) * dp * dp)))
            cls._nodes = (xs, ws)
        return cls._nodes

    def gavg(self, f, centers=(), upper=None):
        L = 9.5
        hi = L if upper is None else float(upper)
        pts = {-L, hi}
        for c, w in centers:
            for k in (0, 0.5, 1, 2, 4, 8, 16, 32):
                for s in (1, -1):
                    p = float(c) + s * k * float(w)
                    if -L < p < hi:
                        pts.add(p)
        x = -L
        while x < hi:
            pts.add(x)
            x += 1.0
        pts = sorted(p for p in pts if p <= hi)
        xs, ws = self.nodes()
        tot = 0
        c0 = 1 / math.sqrt(2 * math.pi)
        for a, b in zip(pts[:-1], pts[1:]):
            if b - a < 1e-14:
                continue
            m, r = (a + b) / 2, (b - a) / 2
            for x, w in zip(xs, ws):
                z = m + r * x
                tot += w * r * c0 * math.exp(-z * z / 2) * f(z)
        return tot


MPB, FLB = MPBackend(), FloatBackend()


def logH(B, x):
    """ln H(x), with the asymptotic series for the float backend (erfc underflows)."""
    if B is FLB and x > 25:
        return (-x * x / 2 - math.log(x) - 0.5 * math.log(2 * math.pi)
                + math.log1p(-1 / x ** 2 + 3 / x ** 4 - 15 / x ** 6 + 105 / x ** 8))
    return B.log(B.H(x))


def gfun(B, u, Hu=None):
    """g(u) = phi(u)/H(u)."""
    if B is FLB and u > 25:
        return u / (1 - 1 / u ** 2 + 3 / u ** 4 - 15 / u ** 6 + 105 / u ** 8)
    return B.phi(u) / (B.H(u) if Hu is None else Hu)


# ---------------------------------------------------------------------------
# mpmath quadrature
# ---------------------------------------------------------------------------

def L_cut():
    return mp.sqrt(2 * (mp.mp.dps + 25) * mp.log(10)) + CFG["extra_L"]


def breakpoints(centers=(), upper=None):
    """Breakpoints on [-L, upper] (upper defaults to L): uniform grid (configurable step
    and offset) plus c +- k w around every (center c, width w); no interval longer than
    the grid step."""
    L = L_cut()
    hi = L if upper is None else mpf(upper)
    lo = -L
    step = mpf(CFG["grid_step"])
    off = mpf(CFG["grid_offset"])
    pts = [lo, hi]
    for c, w in centers:
        c, w = mpf(c), mpf(w)
        for k in CFG["ks"]:
            for s in (1, -1):
                p = c + s * k * w
                if lo < p < hi:
                    pts.append(p)
    x = off
    while x < hi:
        if x > lo:
            pts.append(x)
        x += step
    x = off - step
    while x > lo:
        if x < hi:
            pts.append(x)
        x -= step
    pts = sorted(pts)
    out = [pts[0]]
    tol = mpf(10) ** (-mp.mp.dps // 2)
    for p in pts[1:]:
        if p - out[-1] > tol:
            n = int(mp.ceil((p - out[-1]) / step))
            base = out[-1]
            for i in range(1, n):
                out.append(base + (p - base) * i / n)
            out.append(p)
    out[-1] = hi
    return out


def gauss_avg(f, centers=(), upper=None):
    """int_{-L}^{upper} Dz f(z); f may return mpc (two real integrals at once)."""
    pts = breakpoints(centers, upper)
    c = 1 / mp.sqrt(2 * mp.pi)

    def integrand(z):
        with mp.extradps(10):
            v = mp.exp(-z * z / 2) * c * f(z)
        return +v

    v, err = mp.quad(integrand, pts, method="gauss-legendre", error=True)
    if mp.mp.dps == CFG["dps"] and err > QUAD_ERR[0]:  # full-precision quadratures only
        QUAD_ERR[0] = err
    return v


# ---------------------------------------------------------------------------
# root finding: float seeds, mpmath polishing
# ---------------------------------------------------------------------------

def froot(f, lo, hi, label, tol=1e-15):
    """Float root on a verified sign change (Illinois regula falsi with bisection guard)."""
    flo, fhi = f(lo), f(hi)
    if flo * fhi > 0:
        raise ValueError("no sign change for %s on [%r, %r]: %r %r" % (label, lo, hi, flo, fhi))
    a, b, fa, fb = lo, hi, flo, fhi
    side = 0
    for it in range(200):
        c = b - fb * (b - a) / (fb - fa)
        if not (min(a, b) < c < max(a, b)) or it % 6 == 5:
            c = (a + b) / 2
        fc = f(c)
        if fc == 0:
            return c
        if fc * fb < 0:
            a, fa = b, fb
            side = 0
        else:
            fa = fa / 2 if side == 1 else fa
            side = 1
        b, fb = c, fc
        if abs(b - a) < tol * max(1.0, abs(b)):
            return b
    raise ValueError("float root did not converge (%s)" % label)


def fnewton(F, x, label, maxit=60, tol=1e-13):
    """Damped Newton in floats with a forward-difference Jacobian (2x2 or 3x3 via
    Gaussian elimination); returns the root."""
    n = len(x)
    x = [float(v) for v in x]
    for it in range(maxit):
        Fx = F(x)
        nrm = max(abs(v) for v in Fx)
        if nrm < tol:
            return x
        J = []
        for j in range(n):
            h = 1e-7 * max(1.0, abs(x[j]))
            xp = list(x)
            xp[j] += h
            Fp = F(xp)
            J.append([(Fp[i] - Fx[i]) / h for i in range(n)])
        J = [[J[j][i] for j in range(n)] for i in range(n)]  # J[i][j] = dF_i/dx_j
        step = _solve_float(J, Fx)
        lam = 1.0
        for _ in range(40):
            xn = [x[i] - lam * step[i] for i in range(n)]
            try:
                if max(abs(v) for v in F(xn)) < nrm:
                    break
            except (ValueError, ZeroDivisionError, OverflowError):
                pass
            lam /= 2
        x = xn
        if max(abs(lam * step[i]) / max(1.0, abs(x[i])) for i in range(n)) < 1e-14:
            return x  # converged to float resolution (|F| limited by the scale of its terms)
    raise ValueError("float Newton failed (%s): |F| = %r" % (label, nrm))


def _solve_float(A, b):
    n = len(b)
    M = [list(A[i]) + [b[i]] for i in range(n)]
    for k in range(n):
        piv = max(range(k, n), key=lambda i: abs(M[i][k]))
        M[k], M[piv] = M[piv], M[k]
        for i in range(k + 1, n):
            fct = M[i][k] / M[k][k]
            for j in range(k, n + 1):
                M[i][j] -= fct * M[k][j]
    x = [0.0] * n
    for i in range(n - 1, -1, -1):
        x[i] = (M[i][n] - sum(M[i][j] * x[j] for j in range(i + 1, n))) / M[i][i]
    return x


def polish(F, x0, label, maxit=12, guard=mpf(10) ** -7):
    """Chord-Newton at full precision for F: R^n -> R^n (lists).  Central-difference
    Jacobian at the seed x0 (step 10^-(dps/2) * scale), which must be within `guard`
    of the root.  Returns (x, F(x))."""
    n = len(x0)
    x = [mpf(v) for v in x0]
    x0 = list(x)
    h = mpf(10) ** (-(mp.mp.dps // 2))
    J = mp.matrix(n, n)
    for j in range(n):
        hj = h * max(1, abs(x[j]))
        xp = list(x); xp[j] += hj
        xm = list(x); xm[j] -= hj
        fp, fm = F(xp), F(xm)
        for i in range(n):
            J[i, j] = (fp[i] - fm[i]) / (2 * hj)
    Jinv = J ** -1
    Fx = F(x)
    for it in range(maxit):
        step = Jinv * mp.matrix(Fx)
        x = [x[i] - step[i] for i in range(n)]
        for i in range(n):
            if abs(x[i] - x0[i]) > guard * max(1, abs(x0[i])):
                raise ValueError("polishing left the seed neighbourhood (%s)" % label)
        Fx = F(x)
        if max(abs(step[i]) / max(1, abs(x[i])) for i in range(n)) < mpf(10) ** (-(mp.mp.dps - 6)):
            return x, Fx
    raise ValueError("polishing did not converge (%s)" % label)


def polish1(f, x0, label):
    x, fx = polish(lambda v: [f(v[0])], [x0], label)
    return x[0], fx[0]


def upper_bracket_f(f, label):
    for k in range(1, 16):
        hi = 1 - 10.0 ** (-k)
        if f(hi) > 0:
            return hi
    raise ValueError("no upper bracket (%s)" % label)


# ---------------------------------------------------------------------------
# 1-3. spherical Gibbs / Bayes / Hebb
# ---------------------------------------------------------------------------

def I_gibbs(B, R):
    """I(R) = int Ds exp(-R s^2/2)/H(sqrt(R) s)."""
    sR = B.sqrt(R)
    return B.gavg(lambda s: B.exp(-R * s * s / 2) / B.H(sR * s), [(0, 1)])


def gibbs_f(B, alpha, R):
    return R / B.sqrt(1 - R) - alpha * I_gibbs(B, R) / B.pi


def gibbs_R(alpha):
    f = lambda R: gibbs_f(FLB, float(alpha), R)
    R0 = froot(f, 1e-9, upper_bracket_f(f, "gibbs"), "gibbs R")
    return polish1(lambda R: gibbs_f(MPB, alpha, R), R0, "gibbs R alpha=%s" % alpha)


def gibbs_entropy(alpha, R):
    x = mp.sqrt(R / (1 - R))
    GE = 2 * gauss_avg(lambda t: MPB.H(-x * t) * mp.log(MPB.H(-x * t)), [(0, 1 / x)])
    return mp.log(1 - R) / 2 + R / 2 + alpha * GE


def hebb_R(alpha):
    return mp.sqrt(2 * alpha / (mp.pi + 2 * alpha))


# ---------------------------------------------------------------------------
# 4. maximal stability (SVM)
# ---------------------------------------------------------------------------

def psi(B, b):
    return b * B.H(-b) + B.phi(b)


def svm_b_of_R(B, alpha, R):
    """Solve psi(b) = R sqrt(2pi)/(2 alpha delta) (psi increasing and convex, psi' = Phi):
    bisection to a start right of the root, then Newton (monotone from the right)."""
    d = B.sqrt(1 - R * R)
    target = R * B.sqrt(2 * B.pi) / (2 * alpha * d)
    lo, hi = B.num(-60), B.num(60)
    while psi(B, hi) < target:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if psi(B, mid) > target:
            hi = mid
        else:
            lo = mid
    b = hi
    eps = 1e-16 if B is FLB else mpf(10) ** (-(mp.mp.dps - 2))
    for _ in range(200):
        step = (psi(B, b) - target) / B.H(-b)
        b -= step
        if abs(step) < eps * max(1, abs(b)):
            break
    return b


def svm_A(B, R, kappa):
    d = B.sqrt(1 - R * R)
    return B.gavg(lambda t: B.H(-R * t / d) * (kappa - t) ** 2, [(0, d / R), (kappa, d)], upper=kappa)


def svm_f(B, alpha, R):
    b = svm_b_of_R(B, alpha, R)
    kappa = b * B.sqrt(1 - R * R)
    return 1 - R * R - 2 * alpha * svm_A(B, R, kappa)


def svm_solve(alpha):
    R0 = froot(lambda R: svm_f(FLB, float(alpha), R), 1e-3, 1 - 1e-9, "svm R")
    R, res = polish1(lambda R: svm_f(MPB, alpha, R), R0, "svm R alpha=%s" % alpha)
    kappa = svm_b_of_R(MPB, alpha, R) * mp.sqrt(1 - R * R)
    return R, kappa, res


def svm_asymptotic():
    f = lambda B, k: k ** 3 * B.H(-k) - (1 - k * k) * B.phi(k)
    k0 = froot(lambda k: f(FLB, k), 0.1, 0.99, "svm k*")
    k, res = polish1(lambda k: f(MPB, k), k0, "svm k*")
    ps = psi(MPB, k)
    c = 1 / (mp.sqrt(2 * mp.pi) * ps)
    alpha_kappa = k * mp.sqrt(2 * mp.pi) / (2 * ps)
    return k, c, alpha_kappa, res


# ---------------------------------------------------------------------------
# 5. noisy teacher (label flips p), Gibbs T = 0
# ---------------------------------------------------------------------------

def noisy_parts(B, p, q, R):
    x = B.sqrt(q / (1 - q))
    gam = R / B.sqrt(q - R * R)

    def f(t):
        v = -x * t
        if B is FLB and v > 25:
            lH, gv = logH(B, v), gfun(B, v)
        else:
            Hv = B.H(v)
            lH, gv = B.log(Hv), B.phi(v) / Hv
        Pp = p + (1 - 2 * p) * B.H(-gam * t)
        return B.pair(t * B.phi(gam * t) * lH, Pp * t * gv)

    v = B.gavg(f, [(0, 1 / x), (0, 1 / gam)])
    return x, gam, 2 * (1 - 2 * p) * v.real, 2 * v.imag


def noisy_F(B, p, alpha, q, R, with_alpha_derivative=False):
    """[E1, E2] (and optionally [dE1/dalpha, dE2/dalpha], from the same quadrature)."""
    if not (0 < R * R < q < 1):
        raise ValueError("noisy: outside domain q=%s R=%s" % (q, R))
    x, gam, Gg, Gx = noisy_parts(B, p, q, R)
    c = (q - R * R) ** 1.5 if B is FLB else (q - R * R) ** mpf(1.5)
    F = [R / (q * (1 - q)) - alpha * Gg / c, q - R * R / q + alpha * Gx / x]
    if with_alpha_derivative:
        return F, [-Gg / c, Gx / x]
    return F


def xg_to_qR(B, v):
    x, gam = B.exp(v[0]), B.exp(v[1])
    q = x * x / (1 + x * x)
    return q, B.sqrt(q) * gam / B.sqrt(1 + gam * gam)


def qR_to_xg(B, q, R):
    return [B.log(B.sqrt(q / (1 - q))), B.log(R / B.sqrt(q - R * R))]


def noisy_seed(p, alpha, v=None):
    """Float solution in the unconstrained variables (ln x, ln gamma); without a start
    vector: continuation in the noise level from the noiseless solution q = R."""
    p, alpha = float(p), float(alpha)
    F = lambda pp: (lambda w: noisy_F(FLB, pp, alpha, *xg_to_qR(FLB, w)))
    if v is not None:
        return fnewton(F(p), v, "noisy seed alpha=%s" % alpha)
    f = lambda R: gibbs_f(FLB, alpha, R)
    R0 = froot(f, 1e-9, upper_bracket_f(f, "gibbs"), "gibbs R (noisy seed)")
    v = qR_to_xg(FLB, R0, R0 * (1 - 1e-6))
    for i in range(1, 4):
        v = fnewton(F(p * i / 3), v, "noisy continuation")
    return v


def noisy_jac(p, alpha, q, R):
    h = mpf(10) ** (-(mp.mp.dps // 2))
    J = mp.matrix(2, 2)
    for j, (dq, dR) in enumerate(((h, 0), (0, h))):
        fp = noisy_F(MPB, p, alpha, q + dq, R + dR)
        fm = noisy_F(MPB, p, alpha, q - dq, R - dR)
        for i in range(2):
            J[i, j] = (fp[i] - fm[i]) / (2 * h)
    return J


def noisy_polish(p, alpha, q, R, J=None, label="noisy", maxit=30, guard=mpf(10) ** -7):
    """Chord-Newton in (q, R) at the working precision; J = Jacobian near the root
    (computed at the start if not given)."""
    q0, R0 = q, R
    if J is None:
        J = noisy_jac(p, alpha, q, R)
    Jinv = J ** -1
    F = noisy_F(MPB, p, alpha, q, R)
    for it in range(maxit):
        st = Jinv * mp.matrix(F)
        q, R = q - st[0], R - st[1]
        if abs(q - q0) > guard or abs(R - R0) > guard:
            raise ValueError("noisy polishing left the seed neighbourhood (%s)" % label)
        F = noisy_F(MPB, p, alpha, q, R)
        if max(abs(st[0]), abs(st[1])) < mpf(10) ** (-(mp.mp.dps - 6)):
            return q, R, max(abs(F[0]), abs(F[1]))
    raise ValueError("noisy polishing did not converge (%s)" % label)


def noisy_solve(p, alpha, v=None):
    """Returns (q, R, residual, float seed vector (ln x, ln gamma))."""
    v = noisy_seed(p, alpha, v)
    q0, R0 = xg_to_qR(FLB, v)
    q, R, res = noisy_polish(mpf(p), mpf(alpha), mpf(q0), mpf(R0), label="noisy alpha=%s" % alpha)
    return q, R, res, v


def noisy_dRdalpha(p, alpha, q, R, J=None):
    """dR/dalpha along the branch by implicit differentiation, d(q,R)/dalpha = -J^{-1} dF/dalpha."""
    if J is None:
        J = noisy_jac(p, alpha, q, R)
    F, Fa = noisy_F(MPB, p, alpha, q, R, with_alpha_derivative=True)
    d = -(J ** -1) * mp.matrix(Fa)
    return d[1], J


def noisy_alpha_c(p):
    """q -> 1 limit (closed form, no quadrature)."""
    def alpha_of(B, R):
        return B.pi * R / ((1 - 2 * p) * B.sqrt(1 - R * R))

    def f(B, R):
        d = B.sqrt(1 - R * R)
        return 1 - R * R - 2 * alpha_of(B, R) * (p / 2 + (1 - 2 * p) * (B.num(1) / 4 - (B.asin(R) + R * d) / (2 * B.pi)))

    pf = p
    p = float(pf)
    R0 = froot(lambda R: f(FLB, R), 1e-3, 1 - 1e-10, "noisy alpha_c")
    p = mpf(pf)
    R, res = polish1(lambda R: f(MPB, R), R0, "noisy alpha_c")
    return alpha_of(MPB, R), R, res


def noisy_min(p, a_lo, a_hi, v_start):
    """alpha* = argmax_alpha R(alpha) (= argmin eps_rule): root of dR/dalpha by a secant
    iteration at MIDDPS digits (dR/dalpha from implicit differentiation; each iterate
    seeded in floats by continuation, then polished at MIDDPS digits)."""
    with mp.workdps(MIDDPS):
        pm = mpf(p)
        state = {"v": v_start}

        def D(a):
            v = noisy_seed(p, a, state["v"])
            state["v"] = v
            q0, R0 = xg_to_qR(FLB, v)
            J = noisy_jac(pm, a, mpf(q0), mpf(R0))
            q, R, _ = noisy_polish(pm, a, mpf(q0), mpf(R0), J=J, label="noisy min")
            d, _ = noisy_dRdalpha(pm, a, q, R, J=J)
            return d, q, R

        a0, a1 = mpf(a_lo), mpf(a_hi)
        d0 = D(a0)[0]
        d1 = D(a1)[0]
        if d0 * d1 > 0:
            raise ValueError("dR/dalpha has no sign change on [%s, %s]" % (a_lo, a_hi))
        step = None
        for it in range(40):
            a2 = a1 - d1 * (a1 - a0) / (d1 - d0)
            d2, q, R = D(a2)
            step = abs(a2 - a1)
            a0, d0, a1, d1 = a1, d1, a2, d2
            if step < mpf(10) ** -(MIDDPS - 8):
                break
        else:
            raise ValueError("alpha* secant did not converge")
        return a1, q, R, step


def nishimori_noisy_f(B, p, alpha, R):
    sR = B.sqrt(R)
    I = B.gavg(lambda s: B.exp(-R * s * s / 2) / (p + (1 - 2 * p) * B.H(sR * s)), [(0, 1)])
    return R / B.sqrt(1 - R) - alpha * (1 - 2 * p) ** 2 * I / B.pi


def nishimori_noisy_R(p, alpha):
    f = lambda R: nishimori_noisy_f(FLB, float(p), float(alpha), R)
    R0 = froot(f, 1e-9, upper_bracket_f(f, "nishimori"), "nishimori R")
    return polish1(lambda R: nishimori_noisy_f(MPB, p, alpha, R), R0, "nishimori R")


# ---------------------------------------------------------------------------
# 6. Ising perceptron storage
# ---------------------------------------------------------------------------

def ising_entropic(B, qh):
    """(E tanh^2(sqrt(qh) z), E ln 2cosh(sqrt(qh) z)); ln 2cosh x = |x| + log1p(e^{-2|x|})."""
    a = B.sqrt(qh)

    def f(z):
        x = abs(a * z)
        return B.pair(B.sech(x) ** 2, B.log1p(B.exp(-2 * x)))

    v = B.gavg(f, [(0, 1 / a)])
    return 1 - v.real, a * B.sqrt(2 / B.pi) + v.imag


def ising_energetic(B, kappa, q):
    """(E g(u)^2, E ln H(u)), u = (kappa + sqrt(q) t)/sqrt(1-q)."""
    sq, s1 = B.sqrt(q), B.sqrt(1 - q)

    def f(t):
        u = (kappa + sq * t) / s1
        if B is FLB and u > 25:
            return B.pair(gfun(B, u) ** 2, logH(B, u))
        Hu = B.H(u)
        return B.pair((B.phi(u) / Hu) ** 2, B.log(Hu))

    v = B.gavg(f, [(-kappa / sq, s1 / sq)])
    return v.real, v.imag


def ising_F(B, kappa, q, qh):
    Et2, Elc = ising_entropic(B, qh)
    Eg2, ElH = ising_energetic(B, kappa, q)
    alpha = qh * (1 - q) / Eg2
    s = -qh * (1 - q) / 2 + Elc + alpha * ElH
    return [q - Et2, s], alpha


def ising_km(kappa):
    kf = float(kappa)

    def s_of_q(q):
        qh = froot(lambda h: ising_entropic(FLB, h)[0] - q, 1e-6, 1e3, "ising qh")
        return ising_F(FLB, kf, q, qh)[0][1]

    q0 = froot(s_of_q, 0.3, 0.9, "ising KM q", tol=1e-13)
    qh0 = froot(lambda h: ising_entropic(FLB, h)[0] - q0, 1e-6, 1e3, "ising qh")
    v, Fv = polish(lambda w: ising_F(MPB, kappa, w[0], w[1])[0], [q0, qh0], "ising KM kappa=%s" % kappa)
    q, qh = v
    alpha = ising_F(MPB, kappa, q, qh)[1]
    return alpha, q, qh, max(abs(a) for a in Fv)


def ising_rs_capacity(kappa):
    return 2 / (mp.pi * ((1 + kappa ** 2) * MPB.H(-kappa) + kappa * MPB.phi(kappa)))


# ---------------------------------------------------------------------------
# 7. binary teacher-student
# ---------------------------------------------------------------------------

def bts_entropic(B, qh):
    """(m = E tanh x, E ln 2cosh x, m' = E sech^2 x (1 - tanh x)),  x = sqrt(qh) z + qh.
    Closed-form parts: E sign x = 1 - 2H(sqrt qh), E|x| = sqrt(2 qh/pi) e^{-qh/2} + qh(1 - 2H(sqrt qh))."""
    a = B.sqrt(qh)

    def f(z):
        x = a * z + qh
        e = B.exp(-2 * abs(x))
        corr = 2 * e / (1 + e)          # sign(x) - tanh(x) = sign(x) * corr
        return B.pair(B.sign(x) * corr, B.log1p(e))

    def fd(z):
        x = a * z + qh
        return B.sech(x) ** 2 * (1 - B.tanh(x))

    v = B.gavg(f, [(-a, 1 / a)])
    Esign = 1 - 2 * B.H(a)
    Eabs = a * B.sqrt(2 / B.pi) * B.exp(-qh / 2) + qh * (1 - 2 * B.H(a))
    mprime = B.gavg(fd, [(-a, 1 / a)])
    return Esign - v.real, Eabs + v.imag, mprime


def bts_energetic(B, q):
    """(I(q), I'(q), G_E(q) = 2 int Dt H(-xt) ln H(-xt))."""
    sq = B.sqrt(q)

    def fI(s):
        Hs = B.H(sq * s)
        e = B.exp(-q * s * s / 2)
        return B.pair(e / Hs, -s * s / 2 * e / Hs + e * B.phi(sq * s) * s / (2 * sq * Hs * Hs))

    v = B.gavg(fI, [(0, 1)])
    x = B.sqrt(q / (1 - q))

    def fG(t):
        Hv = B.H(-x * t)
        return Hv * logH(B, -x * t) if Hv > 0 else 0 * Hv

    GE = 2 * B.gavg(fG, [(0, 1 / x)])
    return v.real, v.imag, GE


def bts_state(B, q, qh):
    m, Elc, mprime = bts_entropic(B, qh)
    I, dI, GE = bts_energetic(B, q)
    alpha = B.pi * qh * B.sqrt(1 - q) / I
    s = Elc - qh * (1 + q) / 2 + alpha * GE
    dlnalpha = 1 / (mprime * qh) - 1 / (2 * (1 - q)) - dI / I
    return dict(m=m, alpha=alpha, s=s, dlnalpha=dlnalpha)


def bts_qh_of_q_f(q):
    return froot(lambda h: bts_entropic(FLB, h)[0] - q, 1e-6, 200.0, "bts qh")


def bts_solve(kind):
    key = "s" if kind == "IT" else "dlnalpha"
    lo, hi = (0.5, 0.85) if kind == "IT" else (0.8, 0.95)
    q0 = froot(lambda q: bts_state(FLB, q, bts_qh_of_q_f(q))[key], lo, hi, "bts " + kind, tol=1e-13)
    qh0 = bts_qh_of_q_f(q0)

    def F(w):
        st = bts_state(MPB, w[0], w[1])
        return [w[0] - st["m"], st[key]]

    v, Fv = polish(F, [q0, qh0], "bts " + kind)
    st = bts_state(MPB, v[0], v[1])
    return st["alpha"], v[0], v[1], max(abs(a) for a in Fv)


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------

def run(name):
    global CFG
    CFG = CONFIGS[name]
    mp.mp.dps = CFG["dps"]
    t0 = time.time()
    R = {}

    def log(msg):
        if VERBOSE:
            print("[%s %7.1fs] %s" % (name, time.time() - t0, msg), flush=True)

    # 1-3
    for a in ALPHAS_GIBBS:
        Rg, res = gibbs_R(mpf(a))
        R["gibbs|" + a] = dict(R=Rg, res=res)
    R["gibbs_I1"] = I_gibbs(MPB, mpf(1))
    log("gibbs done")

    # 4
    for a in ALPHAS_SVM:
        Rs, kap, res = svm_solve(mpf(a))
        R["svm|" + a] = dict(R=Rs, kappa=kap, res=res)
    k, c, ak, res = svm_asymptotic()
    R["svm_asym"] = dict(kstar=k, c=c, alpha_kappa=ak, res=res)
    log("svm done")

    # 5
    p = mpf(NOISE_P)
    ac, Rc, resc = noisy_alpha_c(p)
    R["noisy_c"] = dict(alpha_c=ac, R_c=Rc, res=resc)
    v = None
    seeds = {}
    for a in ALPHAS_NOISY:  # continuation in alpha (the first point by continuation in p)
        q, Rn, res, v = noisy_solve(NOISE_P, a, v)
        seeds[a] = v
        Rb, resb = nishimori_noisy_R(p, mpf(a))
        R["noisy|" + a] = dict(q=q, R=Rn, res=res, R_nish=Rb, res_nish=resb)
        log("noisy alpha=%s q=%s R=%s" % (a, mp.nstr(q, 12), mp.nstr(Rn, 12)))
    Rb, resb = nishimori_noisy_R(p, ac)
    R["noisy_c"].update(R_nish=Rb, res_nish=resb)
    R["noisy_seed_last"] = [mpf(x) for x in seeds[ALPHAS_NOISY[-1]]]
    astar, qm, Rm, step = noisy_min(NOISE_P, "2.7", "2.9", seeds["2.5"])
    astar = +astar  # exact (MIDDPS-digit) number; now solve at full precision there
    q, Rn, res = noisy_polish(p, astar, qm, Rm, label="noisy at alpha*")
    R["noisy_min"] = dict(alpha=astar, q=q, R=Rn, res=res, last_step=step)
    log("noisy done (alpha* = %s)" % mp.nstr(astar, 15))

    # 6
    for kap in KAPPAS_ISING:
        alpha, q, qh, res = ising_km(mpf(kap))
        R["ising|" + kap] = dict(alpha_KM=alpha, q=q, qh=qh, res=res, alpha_RS=ising_rs_capacity(mpf(kap)))
        log("ising kappa=%s alpha_KM=%s" % (kap, mp.nstr(alpha, 12)))

    # 7
    for kind in ("IT", "SP"):
        alpha, q, qh, res = bts_solve(kind)
        R["bts|" + kind] = dict(alpha=alpha, q=q, qh=qh, res=res)
        log("bts %s alpha=%s" % (kind, mp.nstr(alpha, 12)))

    if name == "main":
        R["checks"] = checks(R)
        log("checks done")
    R["time"] = time.time() - t0
    R["quad_err"] = QUAD_ERR[0]
    return name, ser(R)


def checks(R):
    """Independent consistency checks (main run only; those inside the workdps(25) block at
    25 digits -- at that precision mpmath's quadrature can be off by ~1e-23, so they are
    sanity checks with that tolerance; the accuracy of the values themselves is assessed
    by the main/check comparison)."""
    C = {}
    # SVM (full precision): closed-form B vs quadrature; A_s(k*) closed form vs quadrature
    Rs, kap = R["svm|2"]["R"], R["svm|2"]["kappa"]
    dl = mp.sqrt(1 - Rs * Rs)
    Bq = gauss_avg(lambda t: (kap - t) ** 2 * t * MPB.phi(Rs * t / dl), [(0, dl / Rs), (kap, dl)], upper=kap)
    Bc = -2 * dl ** 4 * psi(MPB, kap / dl) / mp.sqrt(2 * mp.pi)
    C["svm_alpha2_B_quadrature_minus_closed_form"] = Bq - Bc
    C["svm_alpha2_eq_ii_residual_with_quadrature_B"] = Rs * dl ** 3 + 2 * Bq
    k = R["svm_asym"]["kstar"]
    Aq = mp.quad(lambda s: MPB.H(-s) * (k - s) ** 2, [-80, -40, -20, -10, -6, -4, -2, -1, 0, k])
    Acl = ((k ** 3 + 3 * k) * MPB.H(-k) + (k * k + 2) * MPB.phi(k)) / 3
    C["svm_asym_As_quadrature_minus_closed_form"] = Aq - Acl
    C["svm_asym_As_minus_psi"] = Acl - psi(MPB, k)
    with mp.workdps(25):
        # Gibbs: entropy stationary and maximal at the root (mp.diff of the free entropy,
        # which is evaluated independently of the saddle-point equation)
        a = mpf(2)
        Rg = R["gibbs|2"]["R"]
        d = mpf("1e-3")
        s0 = gibbs_entropy(a, Rg)
        C["gibbs_alpha2_dsdR_at_root"] = mp.diff(lambda r: gibbs_entropy(a, r), Rg)
        C["gibbs_alpha2_entropy_is_max"] = str(bool(s0 > gibbs_entropy(a, Rg - d) and
                                                    s0 > gibbs_entropy(a, Rg + d))).lower()
        C["gibbs_alpha2_entropy"] = s0
        # noisy: p = 0 reproduces the noiseless Gibbs solution; stationarity of s(q,R)
        q0, R0, _, _ = noisy_solve("0", "2")
        C["noisy_p0_alpha2_q_minus_R"] = q0 - R0
        C["noisy_p0_alpha2_R_minus_gibbs_R"] = R0 - R["gibbs|2"]["R"]
        p = mpf(NOISE_P)
        qn, Rn = R["noisy|2"]["q"], R["noisy|2"]["R"]

        def s_noisy(q, r):
            x = mp.sqrt(q / (1 - q))
            gam = r / mp.sqrt(q - r * r)
            GE = 2 * gauss_avg(lambda t: (p + (1 - 2 * p) * MPB.H(-gam * t)) * mp.log(MPB.H(-x * t)),
                               [(0, 1 / x), (0, 1 / gam)])
            return mp.log(1 - q) / 2 + (q - r * r) / (2 * (1 - q)) + 2 * GE

        C["noisy_alpha2_ds_dq"] = mp.diff(lambda q: s_noisy(q, Rn), qn)
        C["noisy_alpha2_ds_dR"] = mp.diff(lambda r: s_noisy(qn, r), Rn)
        # noisy: the finite-alpha branch approaches the closed-form q -> 1 limit
        qa, Ra, _, _ = noisy_solve(NOISE_P, R["noisy_c"]["alpha_c"] - mpf("0.0005"), R["noisy_seed_last"])
        C["noisy_at_alpha_c_minus_0.0005_q"] = qa
        C["noisy_at_alpha_c_minus_0.0005_R_minus_R_c"] = Ra - R["noisy_c"]["R_c"]
        # Ising KM: stationarity of s(q, qh) at fixed alpha (kappa = 0)
        r = R["ising|0"]
        al = r["alpha_KM"]

        def s_ising(q, qh):
            Et2, Elc = ising_entropic(MPB, qh)
            Eg2, ElH = ising_energetic(MPB, mpf(0), q)
            return -qh * (1 - q) / 2 + Elc + al * ElH

        C["ising_k0_ds_dq"] = mp.diff(lambda q: s_ising(q, r["qh"]), r["q"])
        C["ising_k0_ds_dqh"] = mp.diff(lambda qh: s_ising(r["q"], qh), r["qh"])
        # binary TS: stationarity of s(q, qh) at fixed alpha (IT point)
        b = R["bts|IT"]
        alb = b["alpha"]

        def s_bts(q, qh):
            m, Elc, _ = bts_entropic(MPB, qh)
            x = mp.sqrt(q / (1 - q))
            GE = 2 * gauss_avg(lambda t: MPB.H(-x * t) * mp.log(MPB.H(-x * t)), [(0, 1 / x)])
            return Elc - qh * (1 + q) / 2 + alb * GE

        C["bts_IT_ds_dq"] = mp.diff(lambda q: s_bts(q, b["qh"]), b["q"])
        C["bts_IT_ds_dqh"] = mp.diff(lambda qh: s_bts(b["q"], qh), b["qh"])
    # binary TS: alpha(q) on a float grid is unimodal with its maximum at q_sp
    grid = [i / 40 for i in range(2, 40)] + [0.99, 0.999]
    vals = [(q, bts_state(FLB, q, bts_qh_of_q_f(q))["alpha"]) for q in grid]
    qs = float(R["bts|SP"]["q"])
    inc = all(vals[i][1] < vals[i + 1][1] for i in range(len(vals) - 1) if vals[i + 1][0] < qs)
    dec = all(vals[i][1] > vals[i + 1][1] for i in range(len(vals) - 1) if vals[i][0] > qs)
    C["bts_alpha_of_q_float_grid"] = [["%.4g" % q, "%.10g" % a] for q, a in vals]
    C["bts_alpha_of_q_unimodal_on_grid"] = str(bool(inc and dec)).lower()
    # noisy: R(alpha) along the branch on a float grid (shows the over-fitting maximum)
    v = R_seed = None
    rows = []
    for a in ["2.0", "2.2", "2.4", "2.6", "2.7", "2.8", "2.9", "2.95", "2.98", "2.99"]:
        v = noisy_seed(NOISE_P, a, v)
        q, Rv = xg_to_qR(FLB, v)
        rows.append([a, "%.8f" % q, "%.10f" % Rv, "%.10f" % (math.acos(Rv) / math.pi)])
    C["noisy_float_branch_alpha_q_R_epsrule"] = rows
    return C


def ser(obj):
    if isinstance(obj, dict):
        return {k: ser(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [ser(v) for v in obj]
    if isinstance(obj, mp.mpf):
        return mp.nstr(obj, 70) if obj != 0 else "0"
    return obj


# ---------------------------------------------------------------------------
# JSON assembly
# ---------------------------------------------------------------------------

GIBBS_SRC = ("E. Gardner & B. Derrida, J. Phys. A 22, 1983 (1989); G. Gyorgyi & N. Tishby (1990); "
             "Seung, Sompolinsky & Tishby, PRA 45, 6056 (1992); Engel & Van den Broeck (2001) ch. 2 "
             "(RS Gibbs learning, q = R): R/sqrt(1-R) = (alpha/pi) int Ds exp(-R s^2/2)/H(sqrt(R) s)")
BAYES_SRC = ("Opper & Haussler, PRL 66, 2677 (1991); Watkin, Europhys. Lett. 21, 871 (1993); "
             "Engel & Van den Broeck (2001) ch. 3: centre-of-mass overlap R_B = sqrt(R_Gibbs)")
HEBB_SRC = ("Engel & Van den Broeck (2001) ch. 3 (Hebb rule); F. Vallet, Europhys. Lett. 8, 747 (1989): "
            "R = sqrt(2 alpha/(pi + 2 alpha)) (derived in the script)")
SVM_SRC = ("Opper, Kinzel, Kleinz & Nehl, J. Phys. A 23, L581 (1990); Engel & Van den Broeck (2001) ch. 3 "
           "(maximally stable perceptron): q -> 1 Gardner volume with teacher, eqs. (i) "
           "1-R^2 = 2 alpha int_{-inf}^kappa Dt H(-R t/sqrt(1-R^2))(kappa-t)^2 and (ii) d/dR = 0")
NOISY_SRC = ("Engel & Van den Broeck (2001) ch. 5 (noisy teachers, output noise, zero-temperature Gibbs "
             "learning); Seung, Sompolinsky & Tishby, PRA 45, 6056 (1992) (unrealizable rules). "
             "RS free entropy s(q,R) with label-flip weight p + (1-2p) H(-gamma t); equations E1, E2 "
             "derived in the script")
ISING_RS_SRC = "Gardner & Derrida, J. Phys. A 21, 271 (1988); alpha_RS = 2/(pi int_{-kappa}^inf Dt (t+kappa)^2)"
KM_SRC = ("Krauth & Mezard, J. Phys. France 50, 3057 (1989): 1RSB capacity = zero of the RS entropy "
          "s = -qh(1-q)/2 + int Dz ln 2cosh(sqrt(qh) z) + alpha int Dt ln H((kappa+sqrt(q)t)/sqrt(1-q)) "
          "at its saddle point")
BTS_SRC = ("Gyorgyi, PRA 41, 7097 (1990); Sompolinsky, Tishby & Seung, PRL 65, 1683 (1990); "
           "Barbier, Krzakala, Macris, Miolane & Zdeborova, PNAS 116, 5451 (2019): RS (Nishimori) "
           "version-space entropy s = int Dz ln 2cosh(sqrt(qh) z + qh) - qh(1+q)/2 + 2 alpha int Dt H(-xt) ln H(-xt)")


def build(main, check):
    mp.mp.dps = 80
    M = mpf
    E = {}

    def err_of(path):
        a, b = main, check
        for k in path:
            a, b = a[k], b[k]
        return abs(M(a) - M(b))

    def val(path):
        a = main
        for k in path:
            a = a[k]
        return M(a)

    def add(name, value, params, source, quantity, errs=(), lit=None, note=None, residual=None, sig=NSIG,
            extra_err=None):
        e = {"value": mp.nstr(value, sig) if value != 0 else "0",
             "params": {k: str(v) for k, v in params.items()},
             "source": source, "quantity": quantity}
        errv = max([err_of(p) for p in errs] + ([extra_err] if extra_err is not None else []) + [mpf(0)])
        e["abs_err_estimate"] = mp.nstr(errv, 3) if errv != 0 else "0"
        if residual is not None:
            e["residual"] = mp.nstr(abs(M(residual)), 3)
        if lit is not None:
            e["literature"] = lit
        if note is not None:
            e["note"] = note
        E[name] = e

    # 1-3
    for a in ALPHAS_GIBBS:
        alpha = M(a)
        Rg = val(["gibbs|" + a, "R"])
        ep = ["gibbs|" + a, "R"]
        res = main["gibbs|" + a]["res"]
        # error propagation: d arccos(R)/dR = -1/sqrt(1-R^2)
        eR = err_of(ep)
        add("gibbs_R_alpha_%s" % a, Rg, {"alpha": a}, GIBBS_SRC,
            "teacher-student overlap R of the zero-temperature Gibbs (version-space) student, spherical, noiseless",
            [ep], residual=res)
        add("gibbs_eps_alpha_%s" % a, mp.acos(Rg) / mp.pi, {"alpha": a}, GIBBS_SRC,
            "generalization error arccos(R)/pi of the Gibbs student", [],
            extra_err=eR / mp.sqrt(1 - Rg * Rg) / mp.pi)
        add("bayes_R_alpha_%s" % a, mp.sqrt(Rg), {"alpha": a}, BAYES_SRC,
            "overlap R_B = sqrt(R_Gibbs) of the Bayes-optimal (centre-of-mass) spherical student", [],
            extra_err=eR / (2 * mp.sqrt(Rg)))
        add("bayes_eps_alpha_%s" % a, mp.acos(mp.sqrt(Rg)) / mp.pi, {"alpha": a}, BAYES_SRC,
            "Bayes-optimal generalization error arccos(sqrt(R_Gibbs))/pi", [],
            extra_err=eR / (2 * mp.sqrt(Rg) * mp.sqrt(1 - Rg)) / mp.pi)
        Rh = hebb_R(alpha)
        add("hebb_R_alpha_%s" % a, Rh, {"alpha": a}, HEBB_SRC, "Hebb-rule overlap (closed form)")
        add("hebb_eps_alpha_%s" % a, mp.acos(Rh) / mp.pi, {"alpha": a}, HEBB_SRC,
            "Hebb-rule generalization error arccos(R_H)/pi (closed form)")
    I1 = val(["gibbs_I1"])
    eI = err_of(["gibbs_I1"])
    add("gibbs_asymptotic_I1", I1, {}, GIBBS_SRC,
        "I_1 = int Dt exp(-t^2/2)/H(t) (large-alpha limit of I(R))", [["gibbs_I1"]])
    add("gibbs_asymptotic_c", mp.sqrt(2) / I1, {}, GIBBS_SRC + "; large-alpha expansion derived in the script",
        "c_G = sqrt(2)/I_1 in eps_Gibbs ~ c_G/alpha (alpha -> inf)", extra_err=mp.sqrt(2) * eI / I1 ** 2,
        lit={"value": "0.625", "citation": "Engel & Van den Broeck (2001) ch. 2; Seung, Sompolinsky & Tishby (1992)",
             "status": "agrees (0.62466 rounds to 0.625)"})
    add("bayes_asymptotic_c", 1 / I1, {}, BAYES_SRC + "; large-alpha expansion derived in the script",
        "c_B = 1/I_1 = c_G/sqrt(2) in eps_Bayes ~ c_B/alpha", extra_err=eI / I1 ** 2,
        lit={"value": "0.442", "citation": "Engel & Van den Broeck (2001) ch. 3; Opper & Haussler, PRL 66, 2677 (1991) "
                                            "(Gibbs/Bayes ratio -> sqrt 2)",
             "status": "agrees (0.44170)"})
    add("hebb_asymptotic_coefficient", 1 / mp.sqrt(2 * mp.pi), {}, HEBB_SRC,
        "eps_Hebb ~ C/sqrt(alpha) with C = 1/sqrt(2 pi) (closed form)")

    # 4
    for a in ALPHAS_SVM:
        k = "svm|" + a
        Rs, kap = val([k, "R"]), val([k, "kappa"])
        eR = err_of([k, "R"])
        add("svm_R_alpha_%s" % a, Rs, {"alpha": a}, SVM_SRC,
            "overlap R of the maximal-stability (hard-margin SVM) student", [[k, "R"]], residual=main[k]["res"])
        add("svm_kappa_alpha_%s" % a, kap, {"alpha": a}, SVM_SRC,
            "maximal stability kappa (margin of J/|J| times sqrt(N), |xi_i| of unit variance)", [[k, "kappa"]])
        add("svm_eps_alpha_%s" % a, mp.acos(Rs) / mp.pi, {"alpha": a}, SVM_SRC,
            "generalization error arccos(R)/pi of the maximal-stability student",
            extra_err=eR / mp.sqrt(1 - Rs * Rs) / mp.pi)
    sa = "svm_asym"
    add("svm_asymptotic_kstar", val([sa, "kstar"]), {}, SVM_SRC + "; large-alpha scaling derived in the script",
        "k* root of k^3 Phi(k) = (1 - k^2) phi(k) (kappa ~ k* sqrt(1-R^2))", [[sa, "kstar"]], residual=main[sa]["res"])
    add("svm_asymptotic_c", val([sa, "c"]), {}, SVM_SRC + "; large-alpha scaling derived in the script",
        "c_S = 1/(sqrt(2 pi)(k* Phi(k*) + phi(k*))) in eps_SVM ~ c_S/alpha", [[sa, "c"]],
        lit={"value": "0.5005 (brief: 0.500)", "citation": "Opper, Kinzel, Kleinz & Nehl, J. Phys. A 23, L581 (1990); "
                                                            "Engel & Van den Broeck (2001) ch. 3",
             "status": "agrees (0.50049)"})
    add("svm_asymptotic_alpha_kappa", val([sa, "alpha_kappa"]), {}, SVM_SRC,
        "lim alpha*kappa = k* sqrt(2 pi)/(2 psi(k*))", [[sa, "alpha_kappa"]])

    # 5
    p = NOISE_P
    pm = M(p)

    def eps_pair(Rv, eR):
        er = mp.acos(Rv) / mp.pi
        return er, pm + (1 - 2 * pm) * er, eR / mp.sqrt(1 - Rv * Rv) / mp.pi

    for a in ALPHAS_NOISY:
        k = "noisy|" + a
        Rn, qn = val([k, "R"]), val([k, "q"])
        er, el, ee = eps_pair(Rn, err_of([k, "R"]))
        prm = {"p": p, "alpha": a, "T": "0"}
        add("noisy_gibbs_q_p%s_alpha_%s" % (p, a), qn, prm, NOISY_SRC,
            "student-student overlap q, zero-temperature Gibbs student, label-flip noise p", [[k, "q"]],
            residual=main[k]["res"])
        add("noisy_gibbs_R_p%s_alpha_%s" % (p, a), Rn, prm, NOISY_SRC,
            "teacher-student overlap R, zero-temperature Gibbs student, label-flip noise p", [[k, "R"]])
        add("noisy_gibbs_eps_rule_p%s_alpha_%s" % (p, a), er, prm, NOISY_SRC,
            "eps_rule = arccos(R)/pi: disagreement with the NOISELESS teacher rule", extra_err=ee)
        add("noisy_gibbs_eps_label_p%s_alpha_%s" % (p, a), el, prm, NOISY_SRC,
            "eps_label = p + (1-2p) arccos(R)/pi: error on fresh examples with noisy labels", extra_err=ee * (1 - 2 * pm))
        Rb = val([k, "R_nish"])
        add("noisy_bayes_eps_rule_p%s_alpha_%s" % (p, a), mp.acos(mp.sqrt(Rb)) / mp.pi, {"p": p, "alpha": a}, NOISY_SRC +
            "; Bayes-optimal (Nishimori temperature) comparison",
            "Bayes-optimal eps_rule = arccos(sqrt(R_N))/pi, R_N/sqrt(1-R_N) = alpha(1-2p)^2/pi int Ds e^{-R s^2/2}/(p+(1-2p)H(sqrt(R) s))",
            extra_err=err_of([k, "R_nish"]) / (2 * mp.sqrt(Rb) * mp.sqrt(1 - Rb)) / mp.pi,
            residual=main[k]["res_nish"])
    k = "noisy_c"
    ac, Rc = val([k, "alpha_c"]), val([k, "R_c"])
    er, el, ee = eps_pair(Rc, err_of([k, "R_c"]))
    add("noisy_gibbs_alpha_c_p%s" % p, ac, {"p": p, "T": "0"}, NOISY_SRC + "; q -> 1 limit (closed form)",
        "alpha_c(p): the version space of the noisy training set becomes empty (q -> 1)", [[k, "alpha_c"]],
        residual=main[k]["res"])
    add("noisy_gibbs_R_at_alpha_c_p%s" % p, Rc, {"p": p, "T": "0"}, NOISY_SRC, "R at alpha_c(p) (q -> 1)", [[k, "R_c"]])
    add("noisy_gibbs_eps_rule_at_alpha_c_p%s" % p, er, {"p": p, "T": "0"}, NOISY_SRC,
        "eps_rule = arccos(R_c)/pi at alpha_c(p) (limit alpha -> alpha_c from below)", extra_err=ee)
    add("noisy_gibbs_eps_label_at_alpha_c_p%s" % p, el, {"p": p, "T": "0"}, NOISY_SRC,
        "eps_label = p + (1-2p) arccos(R_c)/pi at alpha_c(p)", extra_err=ee * (1 - 2 * pm))
    Rb = val([k, "R_nish"])
    add("noisy_bayes_eps_rule_at_alpha_c_p%s" % p, mp.acos(mp.sqrt(Rb)) / mp.pi, {"p": p, "alpha": "alpha_c(p)"},
        NOISY_SRC + "; Bayes-optimal (Nishimori temperature) comparison",
        "Bayes-optimal eps_rule at alpha = alpha_c(p)", extra_err=err_of([k, "R_nish"]) / (2 * mp.sqrt(Rb) * mp.sqrt(1 - Rb)) / mp.pi)
    k = "noisy_min"
    Rm = val([k, "R"])
    er, el, ee = eps_pair(Rm, err_of([k, "R"]))
    add("noisy_gibbs_alpha_at_min_eps_p%s" % p, val([k, "alpha"]), {"p": p, "T": "0"}, NOISY_SRC,
        "alpha* where R(alpha) is maximal, i.e. eps_rule minimal (beyond it: over-fitting)", [[k, "alpha"]],
        sig=12, extra_err=M(main[k]["last_step"]),
        note="zero of dR/dalpha (implicit differentiation, central-difference Jacobian), located by a secant "
             "iteration at %d digits stopped at |step| < 1e-%d: only ~12 digits are significant" % (MIDDPS, MIDDPS - 8))
    add("noisy_gibbs_min_eps_rule_p%s" % p, er, {"p": p, "T": "0"}, NOISY_SRC,
        "minimum over alpha of eps_rule (attained at alpha*); value insensitive to the error in alpha*", extra_err=ee,
        note="solved at full precision at the (rounded) alpha*; an error d in alpha* changes the minimum only by "
             "O(d^2) ~ 1e-25, which the main/check comparison includes")
    add("noisy_gibbs_min_eps_label_p%s" % p, el, {"p": p, "T": "0"}, NOISY_SRC,
        "minimum over alpha of eps_label", extra_err=ee * (1 - 2 * pm))

    # 6
    for kap in KAPPAS_ISING:
        k = "ising|" + kap
        add("ising_rs_alpha_c_kappa_%s" % kap, val([k, "alpha_RS"]), {"kappa": kap}, ISING_RS_SRC,
            "RS capacity of the binary perceptron (q -> 1 of the RS saddle point); = 4/pi at kappa = 0",
            lit=({"value": "4/pi = 1.2732", "citation": "Gardner & Derrida, J. Phys. A 21, 271 (1988)",
                  "status": "agrees (exact)"} if kap == "0" else
                 {"value": "formula 2/(pi E[(kappa-Z)_+^2])", "citation": "Nakajima, arXiv:2512.23195 (abstract)",
                  "status": "same formula"}))
        lit = None
        note = None
        if kap == "0":
            lit = {"value": "0.833 (KM 1989); certified interval [0.833078599, 0.833078600]",
                   "citation": "Krauth & Mezard (1989); Ding & Sun, arXiv:1809.07742; Huang, arXiv:2404.18902 "
                               "(interval as quoted in third-party code referring to these works; not read in the papers)",
                   "status": "agrees"}
        else:
            kk = M(kap)
            a_ann = mp.log(2) / (-mp.log(MPB.H(kk)))
            a_sph = 1 / ((1 + kk ** 2) * MPB.H(-kk) + kk * MPB.phi(kk))
            note = ("same entropy-vanishing (frozen 1RSB) criterion applied at kappa > 0; no published numerical value "
                    "found to compare with: unverified against literature.  Consistency: below the first-moment "
                    "bound ln2/(-ln H(kappa)) = %s and below the spherical Gardner capacity %s"
                    % (mp.nstr(a_ann, 8), mp.nstr(a_sph, 8)))
        add("ising_km_alpha_c_kappa_%s" % kap, val([k, "alpha_KM"]), {"kappa": kap}, KM_SRC,
            "Krauth-Mezard capacity: alpha at which the RS entropy vanishes", [[k, "alpha_KM"]], residual=main[k]["res"],
            lit=lit, note=note)
        add("ising_km_q_kappa_%s" % kap, val([k, "q"]), {"kappa": kap}, KM_SRC, "RS overlap q at alpha_KM", [[k, "q"]],
            lit=({"value": "[0.56394907949, 0.56394908030]", "citation": "certified interval quoted in third-party code "
                  "(Ding-Sun/Huang verification)", "status": "agrees"} if kap == "0" else None))
        add("ising_km_qhat_kappa_%s" % kap, val([k, "qh"]), {"kappa": kap}, KM_SRC, "RS conjugate qhat at alpha_KM",
            [[k, "qh"]],
            lit=({"value": "[2.5763513100, 2.5763513224]", "citation": "certified interval quoted in third-party code "
                  "(Ding-Sun/Huang verification)", "status": "agrees"} if kap == "0" else None))

    # 7
    for kind, nm in (("IT", "alpha_IT"), ("SP", "alpha_alg")):
        k = "bts|" + kind
        q = val([k, "q"])
        eq = err_of([k, "q"])
        if kind == "IT":
            lit = {"value": "1.245 (Gyorgyi); 1.249 (BKMMZ, as quoted in the brief)",
                   "citation": "Gyorgyi, PRA 41, 7097 (1990) abstract: alpha_GD = 1.245; Barbier et al., PNAS 116, 5451 (2019)",
                   "status": "agrees with Gyorgyi's 1.245; DISAGREES with 1.249 in the 3rd decimal (not verified in the "
                             "BKMMZ text, which was not retrievable)"}
            quantity = ("first-order (information-theoretic) transition: entropy of the R<1 branch vanishes "
                        "(= Gyorgyi's alpha_GD = BKMMZ alpha_IT)")
        else:
            lit = {"value": "1.493", "citation": "Barbier et al., PNAS 116, 5451 (2019) (as quoted in the brief; "
                                                 "not verified in the text)",
                   "status": "agrees (1.49263 rounds to 1.493)"}
            quantity = ("spinodal of the R<1 branch = max_q alpha(q) (d alpha/dq = 0) = algorithmic (AMP) threshold; "
                        "the only spinodal (the R=1 state is locally stable for all alpha > 0)")
        add("binary_ts_%s" % nm, val([k, "alpha"]), {"T": "0"}, BTS_SRC, quantity, [[k, "alpha"]],
            residual=main[k]["res"], lit=lit)
        add("binary_ts_q_at_%s" % nm, q, {"T": "0"}, BTS_SRC, "overlap q = R of the R<1 branch at %s" % nm, [[k, "q"]])
        add("binary_ts_qhat_at_%s" % nm, val([k, "qh"]), {"T": "0"}, BTS_SRC, "conjugate qhat at %s" % nm, [[k, "qh"]])
        add("binary_ts_eps_gibbs_at_%s" % nm, mp.acos(q) / mp.pi, {"T": "0"}, BTS_SRC,
            "Gibbs generalization error arccos(q)/pi on the R<1 branch at %s" % nm,
            extra_err=eq / mp.sqrt(1 - q * q) / mp.pi)
        add("binary_ts_eps_bayes_at_%s" % nm, mp.acos(mp.sqrt(q)) / mp.pi, {"T": "0"}, BTS_SRC,
            "Bayes-optimal generalization error arccos(sqrt(q))/pi on the R<1 branch at %s" % nm,
            extra_err=eq / (2 * mp.sqrt(q) * mp.sqrt(1 - q)) / mp.pi)

    C = main["checks"]
    E["_checks"] = {k: (mp.nstr(M(v), 6) if isinstance(v, str) and _isnum(v) else v) for k, v in C.items()}
    E["_meta"] = {
        "generator": "tests/reference/perceptron_reference.py",
        "dps": {"main": str(CONFIGS["main"]["dps"]), "check": str(CONFIGS["check"]["dps"])},
        "significant_digits": str(NSIG),
        "abs_err_estimate": "|main - check| (main: dps 36, grid step 2, breakpoint set A; check: dps 44, shifted "
                            "grid step 1.5, breakpoint set B, larger cutoff); for derived quantities (eps) the "
                            "estimate is propagated from the overlap; closed forms: 0; alpha*: also the last "
                            "secant step",
        "residual": "absolute value of the solved equation(s) at the returned root (max over components)",
        "max_quadrature_error_estimate_note": "mpmath's own (heuristic) error estimate, max over the full-precision "
                                              "quadratures of each run; not used for abs_err_estimate",
        "max_quadrature_error_estimate": {"main": mp.nstr(M(main["quad_err"]), 3),
                                          "check": mp.nstr(M(check["quad_err"]), 3)},
        "runtime_seconds": {"main": "%.1f" % main["time"], "check": "%.1f" % check["time"]},
        "conventions": "spherical |J|^2 = N; alpha = P/N; eps = arccos(R)/pi; H(x) = erfc(x/sqrt2)/2; "
                       "entropies in nats per weight; kappa in units where J.xi/|J| has unit variance",
    }
    return E


def _isnum(s):
    try:
        mpf(s)
        return True
    except Exception:
        return False


def main():
    t0 = time.time()
    with mpr.Pool(2) as pool:
        res = dict(pool.map(run, ["main", "check"]))
    out = build(res["main"], res["check"])
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print("wrote %s in %.1f s" % (OUT, time.time() - t0))


if __name__ == "__main__":
    main()
