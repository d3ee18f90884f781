"""Who is still a customer, how often they will buy and what they will spend: the BG/NBD model
(Fader, Hardie and Lee 2005, "Counting your customers the easy way") and the Gamma-Gamma model
of spend (Fader and Hardie, "The Gamma-Gamma model of monetary value"), fitted by maximum
likelihood to a shop's orders.

The per-customer summary is SQL (``queries/predict/summary.sql``, DESIGN.md "Predictive
conventions"); numpy and scipy do the arithmetic here. This is the only module that imports
them: a command that does not predict must not pay for loading them.

The definitions, in the unit of the fit (weeks, or days with ``unit="day"``), for one customer:

- ``x`` (frequency): repeat purchase days in the calibration period (distinct days − 1).
- ``t_x`` (recency): from the first to the last purchase day (0 when ``x`` is 0).
- ``T`` (age): from the first purchase day to the calibration end.
- ``m`` (monetary): the mean spend of the repeat purchase days.

BG/NBD: while alive a customer buys at rate λ (gamma across customers: shape r, rate α) and
after each repeat purchase drops out for good with probability p (beta across customers: a, b).
Gamma-Gamma: each purchase's spend is gamma (shape p, rate ν), ν gamma across customers (shape
q, rate γ), independent of the purchase process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from scipy import optimize, special

from segtui.core.features import render
from segtui.errors import SegtuiError
from segtui.resources import read_query

#: Days in each unit a fit may use.
UNITS = {"week": 7.0, "day": 1.0}

#: The least data a fit is attempted on: fewer buyers, or fewer repeat buyers, and the maximum
#: of the likelihood is a poor guess at best (or does not exist: without any repeat purchase
#: the dropout parameters a and b have no maximum). Klaviyo asks for 500 customers; the model
#: itself, four parameters, is identified long before that, and a small shop still learns
#: something from it (the holdout table says how much).
MIN_CUSTOMERS = 30
MIN_REPEAT_BUYERS = 10

#: Parameters are fitted as logarithms inside these bounds; a fit that ends on one has found no
#: interior maximum (the data is degenerate, e.g. nobody ever drops out) and is refused.
_LOG_BOUND = 18.0

#: The holdout table's frequency classes: 0..6 and everything above in one.
FREQUENCY_CAP = 7


class PredictError(SegtuiError):
    """The data cannot support a fit (too small, degenerate) or the fit did not converge."""


# ---------------------------------------------------------------------------------------------
# BG/NBD


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters and how the fit went.

    ``loglik`` is the sum over customers of the log-likelihood (natural log) at the maximum;
    it depends on the unit (the density of a purchase time has a unit), so compare fits in the
    same unit only.
    """

    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    converged: bool = True
    iterations: int = 0
    message: str = ""
    same_dropout: bool = False  # a + b ran to KAPPA_MAX: every buyer drops out at about the same rate

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)


def bgnbd_loglik(params, x, t_x, T) -> np.ndarray:
    """Each customer's BG/NBD log-likelihood (FHL 2005, eq. 6)::

        L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
          + [x > 0] B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))

    in logs throughout (gammaln, and logaddexp for the sum), so that a customer with hundreds
    of purchases neither overflows Γ nor underflows the powers."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    xr = x[repeat]
    a4[repeat] = np.log(a) - np.log(b + xr - 1) - (r + xr) * np.log(alpha + t_x[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_loglik_gradient(theta, x, t_x, T, x_values=None) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's BG/NBD log-likelihood and its gradient (rows: customers) in the fitted
    coordinates θ = (log r, log α, logit μ, log κ) of :func:`fit_bgnbd`. With ℓ = a₁ + a₂ +
    log(e^a₃ + e^a₄) as in :func:`bgnbd_loglik` and w₃, w₄ the shares of e^a₃ and e^a₄::

        ∂ℓ/∂r = ψ(r+x) − ψ(r) + log α − w₃ log(α+T) − w₄ log(α+t_x)
        ∂ℓ/∂α = r/α − (r+x) (w₃/(α+T) + w₄/(α+t_x))
        ∂ℓ/∂a = ψ(a+b) − ψ(a+b+x) + w₄/a
        ∂ℓ/∂b = ψ(a+b) + ψ(b+x) − ψ(b) − ψ(a+b+x) − w₄/(b+x−1)

    then by the chain rule through r = e^θ₀, α = e^θ₁, a = μκ, b = (1−μ)κ. One evaluation
    gives what the optimiser would otherwise get from five (a value and four differences).

    The terms of x alone (the Γ and ψ functions, most of the work) are computed once per
    distinct x, a few dozen repeat counts among thousands of customers: ``x_values`` gives
    them as ``np.unique(x, return_inverse=True)`` does, else they are found here."""
    r, alpha, a, b = _bgnbd_params(theta)
    mu, kappa = special.expit(theta[2]), math.exp(theta[3])
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    v, at = x_values if x_values is not None else np.unique(x, return_inverse=True)
    gammaln, digamma = special.gammaln, special.digamma
    a1 = (gammaln(r + v) - gammaln(r))[at] + r * np.log(alpha)
    a2 = (gammaln(a + b) + gammaln(b + v) - gammaln(b) - gammaln(a + b + v))[at]
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    a3 = -(r + x) * log_T
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * log_tx[repeat]
    both = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - both), np.exp(a4 - both)
    digamma_abx = digamma(a + b + v)
    d_r = (digamma(r + v) - digamma(r))[at] + math.log(alpha) - w3 * log_T - w4 * log_tx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = (digamma(a + b) - digamma_abx)[at] + w4 / a
    d_b = (digamma(a + b) + digamma(b + v) - digamma(b) - digamma_abx)[at]
    d_b[repeat] -= w4[repeat] / (b + x[repeat] - 1)
    gradient = np.column_stack([r * d_r, alpha * d_alpha, mu * (1 - mu) * kappa * (d_a - d_b), a * d_a + b * d_b])
    return a1 + a2 + both, gradient


def p_alive(params, x, t_x, T) -> np.ndarray:
    """The probability that a customer is still alive at T (FHL 2005, eq. 12)::

        P(alive) = 1 / (1 + [x > 0] · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))

    1 for a customer without a repeat purchase (in the model one can only drop out right
    after a repeat purchase); it falls the longer ago the last purchase was. The odds are
    taken in logs and turned into a probability by the logistic function (no overflow for a
    customer gone for years)."""
    r, alpha, a, b = params
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    log_odds = np.full(np.broadcast(x, t_x, T).shape, -np.inf)
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    repeat = x > 0
    xr = x[repeat]
    log_odds[repeat] = (np.log(a) - np.log(b + xr - 1)
                        + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat])))
    return special.expit(-log_odds)


def expected_purchases(params, t, x, t_x, T) -> np.ndarray:
    """The expected number of purchases in the next ``t`` units (FHL 2005, eq. 10)::

        E[Y(t) | x, t_x, T] = P(alive) · (a+b+x−1)/(a−1) · (1 − S)
        S = ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z),   z = t/(α+T+t)

    The Gaussian hypergeometric series converges for z < 1 but, when c−a−b = a−1−r−x < 0 (a
    frequent buyer), grows like (1−z)^(a−1−r−x) as t outruns α+T, and the power in front
    shrinks as fast: their product is fine, each factor may overflow. Then Euler's transform
    ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z) gives S = (1−z)^(a−1) ·
    ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose own c−a−b = x+r+1−a is then positive: each customer
    gets the form whose series converges at z = 1. A value that still is not finite raises
    PredictError (never a silent NaN). At a = 1 exactly the expression is 0/0; a is moved off
    it by 1e-9 (the limit is continuous there)."""
    r, alpha, a, b = params
    if abs(a - 1.0) < 1e-9:
        a = 1.0 + 1e-9
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    x, t_x, T = np.broadcast_arrays(x, t_x, T)
    z = t / (alpha + T + t)
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)
    c = a + b + x - 1
    direct = (a - 1 - r - x) > 0
    s = np.empty_like(x)
    s[direct] = np.exp((r + x[direct]) * log_1mz[direct]) * special.hyp2f1(r + x[direct], b + x[direct], c[direct], z[direct])
    euler = ~direct
    s[euler] = np.exp((a - 1) * log_1mz[euler]) * special.hyp2f1(a + b - 1 - r, a - 1, c[euler], z[euler])
    expected = p_alive((r, alpha, a, b), x, t_x, T) * (c / (a - 1)) * (1 - s)
    if not np.all(np.isfinite(expected)):
        raise PredictError(f"the expected purchases over {t:g} units overflow for these parameters "
                           f"(r={r:.4g}, alpha={alpha:.4g}, a={a:.4g}, b={b:.4g}); try a shorter horizon or --unit week")
    return expected


#: The dropout probabilities' beta distribution is fitted as its mean μ = a/(a+b) and its
#: concentration κ = a+b. When every buyer drops out at nearly the same rate the likelihood keeps
#: rising as κ grows (the beta narrows to a point): there is no interior maximum, yet μ is well
#: determined and the predictions converge. κ stops here, a beta narrower than any shop's data
#: can tell from a point (its standard deviation is below 1% of μ's for μ ≤ 0.5), and the fit is
#: the "same dropout for everyone" limit (seen on the generated demo shop: κ ran past 2,800).
KAPPA_MAX = 1e4
#: A fit whose mean dropout probability μ makes fewer than this many dropouts expected over all
#: the repeat purchases of the data (μ × Σx) is "nobody drops out": no churn to model, and it is
#: refused. The optimiser then runs μ towards 0 and stops wherever its tolerance says (seen: 3e-7
#: on the demo shop's first year with scipy 1.16, 1.5e-6 on the sample shop's with 1.17), so the
#: test is on what μ means for these buyers, not on a fixed threshold.
MIN_DROPOUTS = 1.0


def _bgnbd_params(theta) -> tuple[float, float, float, float]:
    """(r, α, a, b) from the fitted (log r, log α, logit μ, log κ)."""
    r, alpha = np.exp(theta[:2])
    mu, kappa = special.expit(theta[2]), np.exp(theta[3])
    return r, alpha, mu * kappa, (1 - mu) * kappa


def fit_bgnbd(x, t_x, T) -> BGNBD:
    """Maximum-likelihood BG/NBD parameters for these customers.

    Customers with the same (x, t_x, T) are one term with a weight, so that a million
    customers cost what their distinct summaries cost. r and α are fitted as logarithms, a and
    b as the logit of their mean μ = a/(a+b) and the log of κ = a+b (see :data:`KAPPA_MAX`);
    the start is r = a = b = 1 and α with r/α the shop's mean purchase rate (Σx/ΣT), which puts
    the first step in the right scale whether the unit is days or weeks. L-BFGS-B maximises; if
    it stops short (its line search fails on a flat ridge), Nelder-Mead goes on from there. A
    fit that does not converge, or converges on a bound other than κ's cap, raises
    PredictError: numbers from it would look like an answer."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    _check_summary(x, t_x, T)
    rows, weights = _distinct(np.column_stack([x, t_x, T]))
    ux, ut_x, uT = rows.T
    total = weights.sum()
    x_values = np.unique(ux, return_inverse=True)

    def negative(theta):
        values, gradients = bgnbd_loglik_gradient(theta, ux, ut_x, uT, x_values)
        value = -np.dot(weights, values) / total
        gradient = -(weights @ gradients) / total
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros_like(theta)
        return value, gradient

    rate = max(x.sum(), 1.0) / max(T.sum(), 1e-9)
    start = np.array([0.0, math.log(1.0 / rate), 0.0, math.log(2.0)])
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * 3 + [(-_LOG_BOUND, math.log(KAPPA_MAX))]
    result = _maximise(negative, start, bounds)
    params = _bgnbd_params(result.x)
    capped = result.x[3] >= math.log(KAPPA_MAX) - 1e-3
    if capped and not result.success:  # on the cap the optimiser's own tests may fail at a corner
        result.success = bool(np.isfinite(result.fun))
    loglik = float(np.dot(weights, bgnbd_loglik(params, ux, ut_x, uT)))
    values = dict(zip(("r", "alpha", "a", "b"), params))
    if special.expit(result.x[2]) * x.sum() < MIN_DROPOUTS:
        raise PredictError(f"the BG/NBD fit sees no customer dropping out ({_shown(values)}): buyers keep coming "
                           "back at their own pace, so there is no churn to model; try a longer calibration period")
    _check_fit("BG/NBD", result, ("r", "alpha", "mu", "kappa"), values=values, capped=("kappa",) if capped else ())
    message = "dropout the same for every buyer (a + b at its cap)" if capped else str(result.message)
    return BGNBD(*(float(v) for v in params), loglik=loglik, converged=True, iterations=int(result.nit),
                 message=message, same_dropout=capped)


def _check_summary(x, t_x, T) -> None:
    if len(x) < MIN_CUSTOMERS:
        raise PredictError(f"too few customers to fit the purchase model: {len(x)} buyers, need at least {MIN_CUSTOMERS}")
    repeat = int(np.count_nonzero(x > 0))
    if repeat < MIN_REPEAT_BUYERS:
        raise PredictError(f"too few repeat buyers to fit the purchase model: {repeat} of {len(x)} buyers came back "
                           f"on another day, need at least {MIN_REPEAT_BUYERS}")
    if np.any(t_x > T) or np.any(x < 0) or np.any(t_x < 0):
        raise PredictError("the summary is inconsistent: a recency beyond the customer's age, or a negative count")
    if not np.any(T > t_x):
        raise PredictError("every buyer's last purchase is on the calibration end: nothing to tell who left; "
                           "choose an earlier --calibration-end")


def _distinct(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, counts = np.unique(rows, axis=0, return_counts=True)
    return unique, counts.astype(float)


def _maximise(negative, start, bounds=None):
    """Minimise ``negative`` (θ -> (value, gradient)) with L-BFGS-B; Nelder-Mead, on the
    value alone, goes on from where it stopped short."""
    bounds = bounds or [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
    result = optimize.minimize(negative, start, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8})
    if not result.success:
        again = optimize.minimize(lambda theta: negative(theta)[0], result.x, method="Nelder-Mead", bounds=bounds,
                                  options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
        again.nit = result.nit + again.nit
        result = again
    return result


def _shown(values: dict) -> str:
    return ", ".join(f"{name}={value:.3g}" for name, value in values.items())


def _check_fit(model: str, result, names, values: dict | None = None, capped: tuple[str, ...] = ()) -> None:
    """Refuse a fit that did not converge or that ends on a bound (``capped``: bounds that are
    an answer, not a failure). ``values``: the parameters as the user knows them, for the
    message (default: ``names`` with the exponentials of the fitted logarithms)."""
    values = values or {name: math.exp(v) for name, v in zip(names, result.x)}
    if not result.success or not np.all(np.isfinite(result.x)):
        raise PredictError(f"the {model} fit did not converge ({result.message}); the data may be too small "
                           "or too regular for the model")
    on_bound = [name for name, value in zip(names, result.x) if abs(value) >= _LOG_BOUND - 1e-3 and name not in capped]
    if on_bound:
        raise PredictError(f"the {model} fit runs off to the edge ({_shown(values)}): the data does not identify "
                           f"{', '.join(on_bound)}; it may be too small or degenerate")


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters, the log-likelihood at the maximum and the number of
    customers it was fitted to (those with a repeat purchase and a positive mean spend)."""

    p: float
    q: float
    gamma: float
    loglik: float
    customers: int
    converged: bool = True
    iterations: int = 0

    @property
    def params(self) -> tuple[float, float, float]:
        return (self.p, self.q, self.gamma)

    @property
    def mean_spend(self) -> float | None:
        """The population's expected spend per purchase, γp/(q−1); None when q ≤ 1 (the mean
        does not exist: a few huge spenders dominate)."""
        return self.gamma * self.p / (self.q - 1) if self.q > 1 else None


def gamma_gamma_loglik(params, x, m) -> np.ndarray:
    """Each customer's log-density of their mean spend m over x purchases (Fader and Hardie,
    the Gamma-Gamma note, eq. 3)::

        f(m | p, q, γ, x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q m^(px−1) x^(px) / (γ + x m)^(px+q)
    """
    p, q, gamma = params
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + x * m))


def gamma_gamma_loglik_gradient(log_params, x, m, x_values=None) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's Gamma-Gamma log-density and its gradient in (log p, log q, log γ)::

        ∂ℓ/∂p = x (ψ(px+q) − ψ(px) + log m + log x − log(γ+xm))
        ∂ℓ/∂q = ψ(px+q) − ψ(q) + log γ − log(γ+xm)
        ∂ℓ/∂γ = q/γ − (px+q)/(γ+xm)

    The Γ and ψ terms, of x alone, are computed once per distinct x (``x_values`` as
    :func:`bgnbd_loglik_gradient` takes it)."""
    p, q, gamma = np.exp(log_params)
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    v, at = x_values if x_values is not None else np.unique(x, return_inverse=True)
    px, log_spent, log_m = p * x, np.log(gamma + x * m), np.log(m)
    pv = p * v
    value = ((special.gammaln(pv + q) - special.gammaln(pv) + pv * np.log(v))[at] - special.gammaln(q)
             + q * np.log(gamma) + (px - 1) * log_m - (px + q) * log_spent)
    both = special.digamma(pv + q)
    d_p = x * ((both - special.digamma(pv) + np.log(v))[at] + log_m - log_spent)
    d_q = both[at] - special.digamma(q) + math.log(gamma) - log_spent
    d_gamma = q / gamma - (px + q) / (gamma + x * m)
    return value, np.column_stack([p * d_p, q * d_q, gamma * d_gamma])


def expected_spend(params, x, m) -> np.ndarray:
    """The expected spend per purchase of a customer with x repeat purchases of mean m
    (the note's eq. 5)::

        E[M | p, q, γ, m, x] = p (γ + x m) / (p x + q − 1)

    a weighted mean of the population's γp/(q−1) and the customer's own m (weight px/(px+q−1)),
    so x = 0 gives the population mean. NaN where q ≤ 1 (no mean to shrink towards)."""
    p, q, gamma = params
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, np.nan_to_num(np.asarray(m, dtype=float)), 0.0)
    if q <= 1:
        return np.full(np.shape(x), np.nan)
    return p * (gamma + x * m) / (p * x + q - 1)


def fit_gamma_gamma(x, m) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from the customers with a repeat purchase
    and a positive mean spend (a refund-only or free customer has no spend to model; they are
    left out and not counted in ``customers``). Starting values by the method of moments on the
    mean spends: p = 1 and, from the mean and variance of ν's inverse, q and γ; fitted as
    logarithms, refused like the BG/NBD fit when it does not converge or runs to a bound."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    x, m = x[keep], m[keep]
    if len(x) < MIN_REPEAT_BUYERS:
        raise PredictError(f"too few repeat buyers with a positive spend to fit the spend model: {len(x)}, "
                           f"need at least {MIN_REPEAT_BUYERS}")
    if np.ptp(m) == 0:
        raise PredictError("every repeat buyer spends the same per purchase: the spend model has nothing to fit")
    rows, weights = _distinct(np.column_stack([x, m]))
    ux, um = rows.T
    total = weights.sum()
    x_values = np.unique(ux, return_inverse=True)

    def negative(log_params):
        values, gradients = gamma_gamma_loglik_gradient(log_params, ux, um, x_values)
        value = -np.dot(weights, values) / total
        gradient = -(weights @ gradients) / total
        if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
            return 1e300, np.zeros_like(log_params)
        return value, gradient

    mean, var = float(np.mean(m)), float(np.var(m))
    q0 = 2.0 + mean**2 / var if var > 0 else 3.0  # the mean of 1/ν is γ/(q−1) with p = 1
    start = np.log([1.0, q0, mean * (q0 - 1)])
    result = _maximise(negative, start)
    params = np.exp(result.x)
    _check_fit("Gamma-Gamma", result, ("p", "q", "gamma"))
    loglik = float(np.dot(weights, gamma_gamma_loglik(params, ux, um)))
    return GammaGamma(*(float(v) for v in params), loglik=loglik, customers=len(x),
                      iterations=int(result.nit))


# ---------------------------------------------------------------------------------------------
# A shop's summary and the holdout


@dataclass(frozen=True)
class Summary:
    """The calibration summary of every buyer (``queries/predict/summary.sql``) in the unit of
    the fit, and their purchase days in the holdout (0 without one)."""

    customer_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray  # NaN without a repeat purchase
    holdout: np.ndarray
    unit: str


def summary_sql(calibration_end: date, holdout_end: date | None = None) -> str:
    """The summary query, its dates rendered (the holdout end defaults to the calibration end:
    an empty holdout)."""
    end = holdout_end or calibration_end
    sql = read_query("predict/summary.sql").replace(":holdout_end", f"DATE '{end.isoformat()}'")
    return render(sql, calibration_end)


def load_summary(con, calibration_end: date, holdout_end: date | None = None, unit: str = "week") -> Summary:
    """Run the summary over the contract view ``orders`` of ``con``."""
    if unit not in UNITS:
        raise PredictError(f"unknown unit '{unit}'; use one of {', '.join(UNITS)}")
    data = con.execute(summary_sql(calibration_end, holdout_end)).fetchnumpy()
    days = UNITS[unit]

    def column(name: str) -> np.ndarray:
        values = data[name]
        if np.ma.isMaskedArray(values):
            values = values.filled(np.nan)
        return np.asarray(values, dtype=float)

    return Summary(np.asarray(data["customer_id"]), column("frequency"), column("recency_days") / days,
                   column("t_days") / days, column("repeat_spend"), column("holdout_days"), unit)


@dataclass(frozen=True)
class Holdout:
    """Predicted against actual repeat purchase days in the holdout, in total and by
    calibration frequency (``frequency`` is "0".."6" and "7+")."""

    end: date
    length: float  # in units
    predicted: float
    actual: int
    by_frequency: tuple[dict, ...]


@dataclass(frozen=True)
class Prediction:
    """What ``segtui predict`` reports."""

    calibration_end: date
    unit: str
    customers: int
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
    holdout: Holdout | None
    fitted: int = 0  # the buyers the models were fitted to (a sample above FIT_SAMPLE); all are scored

    def to_json(self) -> dict:
        """The JSON DESIGN.md fixes for ``segtui predict --json``."""
        holdout = None
        if self.holdout is not None:
            holdout = {"predicted": round(self.holdout.predicted, 2), "actual": self.holdout.actual,
                       "by_frequency": [{**row, "predicted": round(row["predicted"], 2)}
                                        for row in self.holdout.by_frequency]}
        g = self.gamma_gamma
        return {
            "unit": self.unit,
            "customers": self.customers,
            "fitted": self.fitted or self.customers,
            "params": {"r": _round(self.bgnbd.r), "alpha": _round(self.bgnbd.alpha),
                       "a": _round(self.bgnbd.a), "b": _round(self.bgnbd.b)},
            "loglik": round(self.bgnbd.loglik, 3),
            "monetary": {"p": _round(g.p), "q": _round(g.q), "gamma": _round(g.gamma), "customers": g.customers},
            "holdout": holdout,
        }


def _round(value: float) -> float:
    """Six significant digits: enough to reproduce a prediction, not the optimiser's noise."""
    return float(f"{value:.6g}")


def predict(con, calibration_end: date, holdout_end: date | None = None, unit: str = "week") -> Prediction:
    """Fit both models to the buyers up to ``calibration_end`` and, with ``holdout_end``,
    compare their expected purchases after it with what happened."""
    if holdout_end is not None and holdout_end <= calibration_end:
        raise PredictError(f"the holdout end {holdout_end} must be after the calibration end {calibration_end}")
    summary = load_summary(con, calibration_end, holdout_end, unit)
    sample = fit_sample(summary)
    bgnbd = fit_bgnbd(summary.x[sample], summary.t_x[sample], summary.T[sample])
    gamma_gamma = fit_gamma_gamma(summary.x[sample], summary.m[sample])
    holdout = None
    if holdout_end is not None:
        holdout = compare_holdout(bgnbd, summary, holdout_end, (holdout_end - calibration_end).days / UNITS[unit])
    return Prediction(calibration_end, unit, len(summary.x), bgnbd, gamma_gamma, holdout, fitted=len(sample))


def compare_holdout(bgnbd: BGNBD, summary: Summary, end: date, length: float) -> Holdout:
    """Each buyer's expected purchases over the holdout against their purchase days in it,
    summed in total and per calibration frequency (0..6, 7+; a class without buyers is kept,
    with zeros, so the table always has the same rows)."""
    expected = expected_purchases(bgnbd.params, length, summary.x, summary.t_x, summary.T)
    classes = np.minimum(summary.x, FREQUENCY_CAP).astype(int)
    rows = []
    for k in range(FREQUENCY_CAP + 1):
        member = classes == k
        rows.append({"frequency": f"{k}+" if k == FREQUENCY_CAP else str(k), "customers": int(member.sum()),
                     "predicted": float(expected[member].sum()), "actual": int(summary.holdout[member].sum())})
    return Holdout(end, length, float(expected.sum()), int(summary.holdout.sum()), tuple(rows))


# ---------------------------------------------------------------------------------------------
# The predictive feature family (queries/features/predict.sql)

#: The expected-orders features and their horizons in days; the customer value's horizon.
EXPECTED_ORDERS = {"expected_orders_30d": 30, "expected_orders_90d": 90}
CLV_DAYS = 365

#: The models are fitted to at most this many buyers, drawn at random (seeded: the same shop and
#: date give the same sample); every buyer is then scored. Four parameters are pinned down long
#: before this; the fit's cost is not: at 200,000 buyers (145,000 distinct summaries) the BG/NBD
#: fit took 12.7 s on 2 cores (2026-12-01), at 20,000 about a tenth of that.
FIT_SAMPLE = 20_000


def fit_sample(summary: Summary, size: int = FIT_SAMPLE) -> np.ndarray:
    """The positions of the buyers the models are fitted to: all of them up to ``size``, else a
    seeded random ``size`` of them (the summary is ordered by customer_id)."""
    n = len(summary.x)
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(20_261_201).choice(n, size, replace=False))


def discounted_purchases(params, t, x, t_x, T, yearly_rate: float = 0.0, years: float = 1.0,
                         steps: int = 12) -> np.ndarray:
    """Expected purchases in the next ``t`` units (``years`` long), each discounted to today at
    ``yearly_rate``: the horizon is cut into ``steps`` equal periods (months of a year), and the
    purchases expected in period i are discounted by (1 + rate)^(years × i / steps), as at the
    period's end. With a rate of 0 this is :func:`expected_purchases` over ``t`` exactly."""
    if not yearly_rate:
        return expected_purchases(params, t, x, t_x, T)
    total, before = 0.0, 0.0
    for i in range(1, steps + 1):
        upto = expected_purchases(params, t * i / steps, x, t_x, T)
        total = total + (upto - before) / (1.0 + yearly_rate) ** (years * i / steps)
        before = upto
    return total


def register_scores(con, as_of: date, discount_rate: float = 0.0) -> list[str]:
    """The predictive family's values for every buyer as of ``as_of`` (:func:`scores`),
    registered on ``con`` as ``predict_scores`` for ``queries/features/predict.sql`` (called by
    the feature builder; returns the names it registered)."""
    con.register("predict_scores", scores(con, as_of, discount_rate))
    return ["predict_scores"]


def scores(con, as_of: date, discount_rate: float = 0.0) -> dict[str, np.ndarray]:
    """The predictive family's values for every buyer as of ``as_of``: ``customer_id``, and per
    value ``fit_<name>`` with its ``<name>_known`` flag.

    Both models are fitted in weeks to the buyers' summary up to the as-of date (a sample of
    :data:`FIT_SAMPLE` at most). A model that cannot be fitted (too few buyers, no repeat
    purchase, degenerate data) leaves its values unknown (NULL) rather than stopping the build:
    ``segtui predict`` says why. Each value column comes with a ``*_known`` flag, so that the
    family's SQL turns NaN into NULL portably; the values are named ``fit_*``, so that no
    output column of that SQL shadows one of its inputs.

    ``discount_rate``: a yearly rate (0.1 = 10 %) at which ``clv_365d`` discounts each month's
    expected spend (:func:`discounted_purchases`); 0 leaves it undiscounted."""
    summary = load_summary(con, as_of)
    n = len(summary.x)
    nan = np.full(n, np.nan)
    alive, spend = nan, nan
    expected = {name: nan for name in (*EXPECTED_ORDERS, "clv")}
    sample = fit_sample(summary)
    try:
        bgnbd = fit_bgnbd(summary.x[sample], summary.t_x[sample], summary.T[sample])
        alive = p_alive(bgnbd.params, summary.x, summary.t_x, summary.T)
        for name, days in EXPECTED_ORDERS.items():
            expected[name] = expected_purchases(bgnbd.params, days / UNITS[summary.unit], summary.x, summary.t_x, summary.T)
        expected["clv"] = discounted_purchases(bgnbd.params, CLV_DAYS / UNITS[summary.unit], summary.x, summary.t_x,
                                               summary.T, discount_rate, years=CLV_DAYS / 365)
    except PredictError:
        pass
    try:
        gamma_gamma = fit_gamma_gamma(summary.x[sample], summary.m[sample])
        spend = expected_spend(gamma_gamma.params, summary.x, summary.m)
    except PredictError:
        pass
    values = {"p_alive": alive, **{name: expected[name] for name in EXPECTED_ORDERS},
              "expected_spend_per_order": spend, "clv_365d": expected["clv"] * spend}
    found = {"customer_id": summary.customer_id}
    for name, column in values.items():
        known = np.isfinite(column)
        found[f"fit_{name}"] = np.where(known, column, 0.0)
        found[f"{name}_known"] = known
    return found


# ---------------------------------------------------------------------------------------------
# How far to trust the predictive features (the explorer's detail pane)

#: The explorer checks the models on the days before the as-of date: fitted this many days
#: earlier, their expected purchase days against what happened since.
CHECK_DAYS = 90


@dataclass(frozen=True)
class ModelCheck:
    """The fit the predictive features come from and a check of the same method on the last
    :data:`CHECK_DAYS` days; each an error message instead when it cannot be made."""

    fit: Prediction | None
    error: str | None
    check: Prediction | None
    check_error: str | None


def model_check(con, as_of: date, days: int = CHECK_DAYS) -> ModelCheck:
    """Fit both models as of ``as_of`` (as the features do) and, fitted ``days`` earlier,
    compare their predictions for those days with what happened."""
    try:
        fit = predict(con, as_of)
    except PredictError as error:
        return ModelCheck(None, str(error), None, None)
    try:
        check = predict(con, as_of - timedelta(days=days), as_of)
    except PredictError as error:
        return ModelCheck(fit, None, None, str(error))
    return ModelCheck(fit, None, check, None)
