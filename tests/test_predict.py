"""The predictive models (segtui.core.predict) and `segtui predict`.

The likelihoods are checked against the formulas evaluated directly (math.lgamma, Beta
functions, no log-sum-exp) and against the published fits on the CDNOW sample; the conditional
expectations against numerical integration over the posterior; the fits against data simulated
from each model with a seeded generator. Together well under a minute.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from conftest import assert_one_line_error, make_duckdb, run_cli
from scipy import integrate, stats

from segtui.core import predict as P
from segtui.resources import sample_data_dir

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_summary.csv"


@pytest.fixture(scope="module")
def cdnow():
    return np.genfromtxt(CDNOW, delimiter=",", names=True)


# ---------------------------------------------------------------------------------------------
# BG/NBD likelihood


def log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def direct_likelihood(r, alpha, a, b, x, t_x, T) -> float:
    """FHL 2005 eq. 6 as printed, summed in plain floating point."""
    gamma_part = math.exp(math.lgamma(r + x) - math.lgamma(r)) * alpha**r
    alive = math.exp(log_beta(a, b + x) - log_beta(a, b)) * gamma_part / (alpha + T) ** (r + x)
    gone = 0.0
    if x > 0:
        gone = math.exp(log_beta(a + 1, b + x - 1) - log_beta(a, b)) * gamma_part / (alpha + t_x) ** (r + x)
    return alive + gone


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (2.0, 10.0, 3.5, 1.2), (0.5, 0.7, 0.2, 8.0)])
@pytest.mark.parametrize("x, t_x, T", [(0, 0.0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (7, 20.0, 52.0),
                                      (25, 70.5, 71.0)])
def test_bgnbd_loglik_matches_the_formula_evaluated_directly(params, x, t_x, T):
    ours = P.bgnbd_loglik(params, np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert ours == pytest.approx(math.log(direct_likelihood(*params, x, t_x, T)), rel=1e-10, abs=1e-10)


def test_bgnbd_loglik_stays_finite_for_a_very_frequent_buyer():
    """Γ(r+x) and (α+T)^(r+x) overflow a double near x = 170 and 300; their ratio does not."""
    value = P.bgnbd_loglik((0.243, 4.414, 0.793, 2.426), np.array([900.0]), np.array([300.0]), np.array([310.0]))
    assert np.isfinite(value).all()


def _central_differences(f, theta, step=1e-5):
    return np.array([(f(theta + step * e) - f(theta - step * e)) / (2 * step) for e in np.eye(len(theta))])


@pytest.mark.parametrize("theta", [(0.1, 2.0, -1.0, 1.0), (-0.5, 3.0, 0.5, 3.0), (0.8, -1.0, -3.0, 6.0)])
def test_bgnbd_gradient_is_the_derivative_of_the_loglik(theta):
    """The fit's analytic gradient (in log r, log α, logit μ, log κ) against central
    differences of the log-likelihood itself, on seeded customers with and without repeats."""
    rng = np.random.default_rng(5)
    T = rng.uniform(5, 80, 300)
    x = rng.poisson(2.5, 300).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, 300) * T, 0.0)
    theta = np.array(theta)
    values, gradient = P.bgnbd_loglik_gradient(theta, x, t_x, T)
    assert values == pytest.approx(P.bgnbd_loglik(P._bgnbd_params(theta), x, t_x, T), rel=1e-12)
    total = lambda th: P.bgnbd_loglik(P._bgnbd_params(th), x, t_x, T).sum()  # noqa: E731
    assert gradient.sum(axis=0) == pytest.approx(_central_differences(total, theta), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("log_params", [(0.0, 1.1, 3.0), (0.7, 2.0, 5.5), (-1.0, 0.2, 1.0)])
def test_gamma_gamma_gradient_is_the_derivative_of_the_loglik(log_params):
    rng = np.random.default_rng(6)
    x = rng.integers(1, 12, 300).astype(float)
    m = rng.gamma(2.0, 20.0, 300)
    log_params = np.array(log_params)
    values, gradient = P.gamma_gamma_loglik_gradient(log_params, x, m)
    assert values == pytest.approx(P.gamma_gamma_loglik(np.exp(log_params), x, m), rel=1e-12)
    total = lambda lp: P.gamma_gamma_loglik(np.exp(lp), x, m).sum()  # noqa: E731
    assert gradient.sum(axis=0) == pytest.approx(_central_differences(total, log_params), rel=1e-5, abs=1e-5)


def test_cdnow_fit_reproduces_the_published_parameters_and_loglik(cdnow):
    """FHL 2005: r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4 (weeks)."""
    fit = P.fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    assert fit.converged
    assert (round(fit.r, 3), round(fit.alpha, 3), round(fit.a, 3), round(fit.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert fit.loglik == pytest.approx(-9582.4, abs=0.05)
    published = P.bgnbd_loglik((0.243, 4.414, 0.793, 2.426), cdnow["x"], cdnow["t_x"], cdnow["T"]).sum()
    assert published == pytest.approx(-9582.4, abs=0.05)


def test_cdnow_expected_purchases_of_the_papers_example(cdnow):
    """FHL 2005: a customer with x = 2, t_x = 30.43, T = 38.86 makes 1.226 purchases in the
    next 39 weeks."""
    value = P.expected_purchases((0.243, 4.414, 0.793, 2.426), 39.0, np.array([2]), np.array([30.43]), np.array([38.86]))
    assert value[0] == pytest.approx(1.226, abs=5e-4)


# ---------------------------------------------------------------------------------------------
# Conditional expectations


def integrated_expectation(params, t, x, t_x, T) -> float:
    """E[Y(t) | x, t_x, T] by integrating over the posterior of (λ, p): only the branch in
    which the customer is alive at T buys, (1/p)(1 − exp(−λpt)) in expectation."""
    r, alpha, a, b = params
    log_norm = r * math.log(alpha) - math.lgamma(r) - log_beta(a, b)

    def prior(lam, p):  # gamma(r, α) × beta(a, b) densities, in plain math (scipy.stats is slow per point)
        return math.exp(log_norm + (r - 1) * math.log(lam) - alpha * lam + (a - 1) * math.log(p)
                        + (b - 1) * math.log1p(-p))

    def likelihood(lam, p):
        value = (1 - p) ** x * lam**x * math.exp(-lam * T)
        if x > 0:
            value += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x)
        return value

    def buys(lam, p):
        return (1 - p) ** x * lam**x * math.exp(-lam * T) * -math.expm1(-lam * p * t) / p

    top = 30 * (r + x + 1) / (alpha + t_x)  # far into the posterior's tail
    numerator = integrate.dblquad(lambda lam, p: buys(lam, p) * prior(lam, p), 0, 1, 0, top, epsabs=1e-13)[0]
    denominator = integrate.dblquad(lambda lam, p: likelihood(lam, p) * prior(lam, p), 0, 1, 0, top, epsabs=1e-13)[0]
    return numerator / denominator


@pytest.mark.parametrize("params, x, t_x, T, t", [
    ((2.0, 10.0, 3.0, 4.0), 3, 20.0, 30.0, 10.0),     # a − 1 − r − x < 0: Euler's form
    ((1.5, 6.0, 2.5, 3.0), 0, 0.0, 25.0, 40.0),       # no repeat purchase yet
    ((1.2, 8.0, 9.0, 5.0), 1, 12.0, 26.0, 52.0),      # a − 1 − r − x > 0: the direct series
])
def test_expected_purchases_against_numerical_integration(params, x, t_x, T, t):
    ours = P.expected_purchases(params, t, np.array([x]), np.array([t_x]), np.array([T]))[0]
    assert ours == pytest.approx(integrated_expectation(params, t, x, t_x, T), rel=1e-4)


def test_expected_purchases_stay_finite_and_grow_over_long_horizons():
    """A buyer of 300 purchase days and a horizon of years: the direct hypergeometric term
    alone overflows here, Euler's form does not."""
    params = (0.243, 4.414, 0.793, 2.426)
    horizons = [1.0, 52.0, 520.0, 5200.0]
    values = [P.expected_purchases(params, t, np.array([300.0]), np.array([150.0]), np.array([152.0]))[0]
              for t in horizons]
    assert all(np.isfinite(values)) and values == sorted(values) and values[0] > 0


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_time_since_the_last():
    params = (0.243, 4.414, 0.793, 2.426)
    assert P.p_alive(params, np.zeros(3), np.zeros(3), np.array([1.0, 40.0, 400.0])).tolist() == [1.0, 1.0, 1.0]
    last = np.array([38.0, 30.0, 20.0, 10.0, 1.0])  # ever longer ago, at T = 39
    values = P.p_alive(params, np.full(5, 3.0), last, np.full(5, 39.0))
    assert np.all(np.diff(values) < 0) and np.all((values > 0) & (values < 1))
    older = P.p_alive(params, np.full(3, 3.0), np.full(3, 10.0), np.array([20.0, 40.0, 80.0]))  # same last, later T
    assert np.all(np.diff(older) < 0)


# ---------------------------------------------------------------------------------------------
# Recovery from simulated data


def simulate_bgnbd(rng: np.random.Generator, n: int, r, alpha, a, b):
    """Customers as the model says: a first purchase at 0, then purchases at rate λ until
    the age T, each repeat purchase followed by dropping out with probability p."""
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(26, 78, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        t[active] += rng.exponential(1 / lam[active])
        bought = active & (t <= T)
        x[bought] += 1
        t_x[bought] = t[bought]
        active = bought & (rng.random(n) >= p)
    return x, t_x, T


def test_bgnbd_recovers_the_parameters_of_simulated_customers():
    """20,000 simulated customers (seed 7): every parameter within 15% of the truth (the
    sampling error of a and b at this size is ~5%)."""
    truth = (0.8, 6.0, 0.9, 3.0)
    x, t_x, T = simulate_bgnbd(np.random.default_rng(7), 20_000, *truth)
    fit = P.fit_bgnbd(x, t_x, T)
    assert fit.converged
    for name, got, want in zip(("r", "alpha", "a", "b"), fit.params, truth):
        assert got == pytest.approx(want, rel=0.15), name


def test_gamma_gamma_recovers_the_parameters_of_simulated_customers():
    """5,000 simulated repeat buyers (seed 11) of 1..9 purchases: p, q and γ within 15%."""
    rng = np.random.default_rng(11)
    p, q, gamma = 6.0, 4.0, 15.0
    nu = rng.gamma(q, 1 / gamma, 5_000)
    x = rng.integers(1, 10, 5_000).astype(float)
    m = rng.gamma(p * x, 1 / nu) / x  # the mean of x gamma(p, ν) spends
    fit = P.fit_gamma_gamma(x, m)
    for name, got, want in zip(("p", "q", "gamma"), fit.params, (p, q, gamma)):
        assert got == pytest.approx(want, rel=0.15), name


def test_too_little_data_is_refused_in_one_sentence():
    with pytest.raises(P.PredictError, match="too few customers"):
        P.fit_bgnbd(np.ones(5), np.ones(5), np.full(5, 3.0))
    with pytest.raises(P.PredictError, match="too few repeat buyers"):
        P.fit_bgnbd(np.zeros(100), np.zeros(100), np.full(100, 10.0))
    with pytest.raises(P.PredictError, match="spends the same"):
        P.fit_gamma_gamma(np.ones(50), np.full(50, 20.0))


# ---------------------------------------------------------------------------------------------
# Gamma-Gamma


@pytest.mark.parametrize("x, m", [(1, 12.5), (4, 30.0), (20, 7.25)])
def test_gamma_gamma_loglik_matches_the_density_evaluated_directly(x, m):
    p, q, gamma = 6.25, 3.74, 15.44
    direct = (math.exp(math.lgamma(p * x + q) - math.lgamma(p * x) - math.lgamma(q))
              * gamma**q * m ** (p * x - 1) * x ** (p * x) / (gamma + x * m) ** (p * x + q))
    ours = P.gamma_gamma_loglik((p, q, gamma), np.array([x]), np.array([m]))[0]
    assert ours == pytest.approx(math.log(direct), rel=1e-10)


def test_cdnow_gamma_gamma_fit_reproduces_the_published_parameters(cdnow):
    """Fader and Hardie's note: p = 6.25, q = 3.74, γ = 15.44 on the 946 repeat buyers."""
    fit = P.fit_gamma_gamma(cdnow["x"], cdnow["zbar"])
    assert fit.customers == 946
    assert (round(fit.p, 2), round(fit.q, 2), round(fit.gamma, 1)) == (6.25, 3.74, 15.4)


@pytest.mark.parametrize("x, m", [(0, 0.0), (1, 40.0), (6, 22.0)])
def test_expected_spend_is_the_posterior_mean(x, m):
    """E[M] = p·E[1/ν | data], ν's posterior gamma(px + q, γ + x·m), integrated numerically."""
    p, q, gamma = 6.25, 3.74, 15.44
    shape, rate = p * x + q, gamma + x * m
    integral = integrate.quad(lambda nu: p / nu * stats.gamma.pdf(nu, shape, scale=1 / rate), 0, np.inf)[0]
    assert P.expected_spend((p, q, gamma), np.array([x]), np.array([m]))[0] == pytest.approx(integral, rel=1e-7)
    if x == 0:
        assert P.GammaGamma(p, q, gamma, 0.0, 0).mean_spend == pytest.approx(integral)


# ---------------------------------------------------------------------------------------------
# The summary SQL


def shop_connection(rows) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE orders (order_id BIGINT, customer_id BIGINT, ordered_at TIMESTAMP, total DOUBLE)")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", rows)
    return con


def test_summary_counts_purchase_days_and_splits_calibration_from_holdout():
    con = shop_connection([
        (1, 1, "2026-01-01 09:00", 10.0), (2, 1, "2026-01-01 18:00", 5.0),   # one purchase day: 15
        (3, 1, "2026-01-15 10:00", 20.0), (4, 1, "2026-01-15 11:00", None),  # a NULL total counts 0
        (5, 1, "2026-01-29 10:00", 40.0),
        (6, 1, "2026-02-10 10:00", 99.0), (7, 1, "2026-02-10 12:00", 1.0),   # holdout: one day
        (8, 1, "2026-03-01 10:00", 7.0),                                     # after the holdout
        (9, 2, "2026-01-22 10:00", 12.0),                                    # one purchase, no repeat
        (10, 3, "2026-02-02 10:00", 12.0),                                   # first buys in the holdout
        (11, None, "2026-01-02 10:00", 5.0), (12, 2, None, 5.0),             # ignored rows
    ])
    summary = P.load_summary(con, date(2026, 1, 31), date(2026, 2, 28), unit="day")
    assert summary.customer_id.tolist() == [1, 2]
    assert summary.x.tolist() == [2, 0]
    assert summary.t_x.tolist() == [28, 0]
    assert summary.T.tolist() == [30, 9]
    assert summary.m[0] == 30.0 and math.isnan(summary.m[1])  # (20 + 40) / 2, the first day left out
    assert summary.holdout.tolist() == [1, 0]
    weeks = P.load_summary(con, date(2026, 1, 31), unit="week")
    assert weeks.T.tolist() == [30 / 7, 9 / 7] and weeks.holdout.tolist() == [0, 0]


def test_summary_sql_is_portable():
    """The same lint as the feature families' reference SQL (tests/test_feature_sql.py)."""
    from test_feature_sql import problems

    sql = P.read_query("predict/summary.sql").replace(":holdout_end", "DATE '2024-06-30'")
    assert problems(sql) == []


# ---------------------------------------------------------------------------------------------
# The command


@pytest.fixture(scope="module")
def predicted():
    result = run_cli("predict", str(sample_data_dir()), "--calibration-end", "2025-12-31",
                     "--holdout-end", "2026-06-30", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_predict_json_shape(predicted):
    assert set(predicted) == {"unit", "customers", "fitted", "params", "loglik", "monetary", "holdout"}
    assert predicted["unit"] == "week" and predicted["customers"] > 1000
    assert predicted["fitted"] == min(predicted["customers"], P.FIT_SAMPLE)
    assert set(predicted["params"]) == {"r", "alpha", "a", "b"} and all(v > 0 for v in predicted["params"].values())
    assert predicted["loglik"] < 0
    assert set(predicted["monetary"]) == {"p", "q", "gamma", "customers"}
    holdout = predicted["holdout"]
    assert set(holdout) == {"predicted", "actual", "by_frequency"}
    rows = holdout["by_frequency"]
    assert [row["frequency"] for row in rows] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert all(set(row) == {"frequency", "customers", "predicted", "actual"} for row in rows)
    assert sum(row["customers"] for row in rows) == predicted["customers"]
    assert sum(row["actual"] for row in rows) == holdout["actual"]
    assert sum(row["predicted"] for row in rows) == pytest.approx(holdout["predicted"], abs=0.05)


def test_predict_without_holdout_has_none_and_a_table_by_default():
    source = str(sample_data_dir())
    result = run_cli("predict", source, "--calibration-end", "2025-12-31", "--unit", "day", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["unit"] == "day" and data["holdout"] is None
    text = run_cli("predict", source, "--calibration-end", "2025-12-31", "--holdout-end", "2026-06-30")
    assert text.returncode == 0, text.stderr
    assert "BG/NBD" in text.stdout and "Gamma-Gamma" in text.stdout and "7+" in text.stdout


def test_a_shop_too_small_is_refused_in_one_line(tmp_path):
    tiny = make_duckdb(tmp_path / "tiny.duckdb", {"orders": """
        SELECT * FROM (VALUES (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0),
                              (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0),
                              (3, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5)) AS t(order_id, customer_id, ordered_at, total)"""})
    assert_one_line_error(run_cli("predict", str(tiny)), 1, "too few customers to fit the purchase model: 2 buyers")


def test_predict_refuses_a_holdout_that_does_not_follow_the_calibration():
    source = str(sample_data_dir())
    assert_one_line_error(run_cli("predict", source, "--holdout-end", "2026-01-01"), 1, "must be after the calibration end")
    assert_one_line_error(run_cli("predict", source, "--calibration-end", "2026-01-01", "--holdout-end", "2027-01-01"),
                          1, "holdout end 2027-01-01 is after the last activity")
    assert_one_line_error(run_cli("predict", source, "--unit", "month"), 2, "--unit")
    # the first year of the sample shop: its fit runs to the edge (a -> 0, b -> infinity)
    assert_one_line_error(run_cli("predict", source, "--calibration-end", "2025-06-30"), 1,
                          "the BG/NBD fit sees no customer dropping out")


def test_count_does_not_load_numpy():
    """numpy and scipy are for predict only: the other commands start without them."""
    code = ("import sys, segtui.cli as cli\n"
            f"sys.argv = ['segtui', 'count', {str(sample_data_dir())!r}, '--where', 'orders > 1', '--no-cache']\n"
            "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'scipy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout.splitlines()[-1] == "[]", result.stdout + result.stderr


@pytest.mark.parametrize("given, expected", [(None, "1"), ("3", "3")])
def test_the_fits_run_on_one_blas_thread_unless_the_user_says(given, expected):
    """OpenBLAS's threads only spin on a second core during the small fits (twice the CPU for
    the same time, taken from DuckDB beside them): segtui asks for one before numpy loads, and
    keeps a number the user set."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    code = "import os, segtui.core.predict\nprint(os.environ['OPENBLAS_NUM_THREADS'])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env,
                            check=False)
    assert result.stdout.strip() == expected, result.stderr


# ---------------------------------------------------------------------------------------------
# The predictive features (queries/features/predict.sql)

FEATURE_AS_OF = date(2026, 6, 30)
PREDICTIVE = ("p_alive", "expected_orders_30d", "expected_orders_90d", "expected_spend_per_order", "clv_365d",
              "clv_percentile")


def simulated_shop(path: Path, n: int = 400, seed: int = 5) -> Path:
    """Orders of ``n`` customers who buy as BG/NBD says (rate λ per week while alive, dropping
    out after a purchase with probability p), spending gamma amounts, over the 78 weeks before
    the as-of date; customer 0 has one order only and customer 999 none (customers table)."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(0.8, 1 / 6.0, n), rng.beta(0.9, 3.0, n)
    rows, order_id = [], 0
    for c in range(n):
        age = rng.uniform(26, 78)  # weeks before the as-of date of the first purchase
        t, alive = 0.0, True
        while alive and t <= age:
            day = FEATURE_AS_OF.toordinal() - int(round((age - t) * 7))
            order_id += 1
            rows.append(f"({order_id}, {c}, TIMESTAMP '{date.fromordinal(day)} 12:00:00', {rng.gamma(4.0, 12.5):.2f})")
            if c == 0:
                break
            t += rng.exponential(1 / lam[c])
            alive = rng.random() >= p[c]
    orders = "SELECT * FROM (VALUES " + ", ".join(rows) + ") AS t(order_id, customer_id, ordered_at, total)"
    customers = "SELECT * FROM (VALUES " + ", ".join(f"({c})" for c in [*range(n), 999]) + ") AS t(customer_id)"
    return make_duckdb(path, {"orders": orders, "customers": customers})


@pytest.fixture(scope="module")
def predicted_features(tmp_path_factory):
    from segtui.core.workspace import open_workspace

    shop = simulated_shop(tmp_path_factory.mktemp("predictive") / "shop.duckdb")
    ws = open_workspace(shop, FEATURE_AS_OF, use_cache=False)
    try:
        ws.require(set(PREDICTIVE) | {"orders"})
        rows = ws.con.execute(f"SELECT customer_id, orders, {', '.join(PREDICTIVE)} FROM customer_features").fetchall()
        prediction = P.predict(ws.con, FEATURE_AS_OF)
        summary = P.load_summary(ws.con, FEATURE_AS_OF)
        story = ws.customer(ws.con, 0)
    finally:
        ws.close()
    features = {row[0]: dict(zip(("orders", *PREDICTIVE), row[1:])) for row in rows}
    return features, prediction, summary, story


def test_predictive_features_are_the_models_predictions_for_each_buyer(predicted_features):
    """Every buyer's values are the fitted models' (the same fit as `segtui predict`, in weeks):
    P(alive), expected purchase days over 30 and 90 days, expected spend per purchase, and the
    365-day value their product."""
    features, prediction, s, _ = predicted_features
    params, spend_params = prediction.bgnbd.params, prediction.gamma_gamma.params
    alive = P.p_alive(params, s.x, s.t_x, s.T)
    e30, e90, e365 = (P.expected_purchases(params, days / 7, s.x, s.t_x, s.T) for days in (30, 90, 365))
    spend = P.expected_spend(spend_params, s.x, s.m)
    assert len(s.customer_id) > 300
    # Two fits of the same data (the feature build's and predict's) agree to the optimiser's
    # tolerance, not to the last bit: DuckDB's parallel SUM may add a day's orders in another
    # order, and on the flat Gamma-Gamma likelihood that moved the expected spend by 1e-5
    # relative (seen in CI). A wrong horizon, unit or join is off by far more than 1e-3.
    for i, customer in enumerate(s.customer_id.tolist()):
        got = features[customer]
        assert got["p_alive"] == pytest.approx(alive[i], rel=1e-3)
        assert got["expected_orders_30d"] == pytest.approx(e30[i], rel=1e-3)
        assert got["expected_orders_90d"] == pytest.approx(e90[i], rel=1e-3)
        assert got["expected_spend_per_order"] == pytest.approx(spend[i], rel=1e-3)
        assert got["clv_365d"] == pytest.approx(e365[i] * spend[i], rel=1e-3)


def test_predictive_features_of_the_edge_customers(predicted_features):
    """One order: still alive by the model's own assumption (p_alive exactly 1) and the shop's
    mean spend γp/(q−1); no order at all: no prediction (NULL), in no predictive segment."""
    features, prediction, _, story = predicted_features
    assert features[0]["orders"] == 1 and features[0]["p_alive"] == 1.0
    key = {k.name: k for k in story.key}  # the customer's story shows them beside the shop's median
    assert key["p_alive"].value == 1.0 and key["clv_365d"].value == pytest.approx(features[0]["clv_365d"])
    assert key["p_alive"].median is not None
    assert features[0]["expected_spend_per_order"] == pytest.approx(prediction.gamma_gamma.mean_spend, rel=1e-3)
    assert all(features[999][name] is None for name in PREDICTIVE)
    ranked = sorted((v["clv_365d"], v["clv_percentile"]) for v in features.values() if v["clv_365d"] is not None)
    assert ranked[0][1] == 0.0 and ranked[-1][1] == 100.0
    assert [pct for _, pct in ranked] == sorted(pct for _, pct in ranked)


def test_a_shop_the_models_cannot_fit_gets_no_predictions_and_no_error(tmp_path):
    """Three orders: too few buyers for the models; the fields are NULL, counts over them 0,
    and every other feature is built as usual."""
    shop = make_duckdb(tmp_path / "tiny.duckdb", {"orders": """
        SELECT * FROM (VALUES (1, 10, TIMESTAMP '2026-01-05 10:00:00', 20.0),
                              (2, 10, TIMESTAMP '2026-02-04 12:30:00', 30.0),
                              (3, 11, TIMESTAMP '2026-03-01 09:00:00', 15.5)) AS t(order_id, customer_id, ordered_at, total)"""})
    assert run_cli("count", str(shop), "--where", "p_alive IS NULL AND orders >= 1").stdout.strip() == "2"
    segments = json.loads(run_cli("segments", str(shop), "--json").stdout)
    lost = next(s for s in segments if s["name"] == "Likely lost")
    assert lost["available"] and lost["count"] == 0


def test_the_predictive_family_runs_on_duckdb_only():
    """Its values come from a Python fit: on the reference engine (what Spark and warehouses
    get) its fields are unavailable, and say why, never computed wrongly."""
    from segtui.core.features.catalog import _plan

    _, available, unavailable = _plan({"orders"}, {"orders": {"order_id", "customer_id", "ordered_at", "total"}},
                                      engine="reference")
    assert "p_alive" not in {f.name for f in available}
    assert "DuckDB only" in unavailable["p_alive"]


def test_the_fit_sample_is_everyone_up_to_its_size_then_the_same_random_draw():
    small = P.Summary(*(np.zeros(50) for _ in range(6)), unit="week")
    assert P.fit_sample(small, size=100).tolist() == list(range(50))
    big = P.Summary(*(np.zeros(1000) for _ in range(6)), unit="week")
    first, again = P.fit_sample(big, size=100), P.fit_sample(big, size=100)
    assert len(set(first.tolist())) == 100 and first.tolist() == again.tolist() == sorted(first.tolist())


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.5])
def test_discounting_lowers_the_expected_purchases_by_at_most_a_year_of_the_rate(rate):
    """Each month's expected purchases are discounted by (1 + rate)^(months / 12): the total
    lies between the undiscounted one over (1 + rate) (all bought at the year's end) and the
    undiscounted one over (1 + rate)^(1/12) (all in the first month); with a rate of 0 it is
    the undiscounted expectation itself."""
    params = (0.243, 4.414, 0.793, 2.426)  # CDNOW's, in weeks
    x, t_x, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 35.0]), np.array([38.86, 38.86, 38.86])
    plain = P.expected_purchases(params, 52.0, x, t_x, T)
    assert np.array_equal(P.discounted_purchases(params, 52.0, x, t_x, T, 0.0), plain)
    got = P.discounted_purchases(params, 52.0, x, t_x, T, rate)
    assert np.all(got > plain / (1 + rate)) and np.all(got < plain / (1 + rate) ** (1 / 12))
    monthly = [P.expected_purchases(params, 52.0 * i / 12, x, t_x, T) for i in range(13)]
    by_hand = sum((monthly[i] - monthly[i - 1]) / (1 + rate) ** (i / 12) for i in range(1, 13))
    assert got == pytest.approx(by_hand, rel=1e-12)


def test_discount_rate_reaches_clv_and_is_cached_apart(tmp_path):
    """--discount-rate lowers every buyer's clv_365d (and nothing else); the discounted family is
    cached apart from the undiscounted one, so that neither run reads the other's values."""
    shop = simulated_shop(tmp_path / "shop.duckdb")
    cache = {"SEGTUI_CACHE_DIR": str(tmp_path / "cache")}

    def values(name: str, *extra: str) -> dict:
        target = tmp_path / f"{name}.json"
        result = run_cli("export", str(shop), "--where", "clv_365d IS NOT NULL",
                         "--columns", "customer_id,clv_365d,expected_orders_90d", "--out", str(target), *extra,
                         env=cache)
        assert result.returncode == 0, result.stderr
        return {r["customer_id"]: (r["clv_365d"], r["expected_orders_90d"]) for r in json.loads(target.read_text())}

    plain = values("plain")
    discounted = values("discounted", "--discount-rate", "0.1")
    assert plain.keys() == discounted.keys() and len(plain) >= 390
    for customer, (clv, orders) in plain.items():  # money is written to the cent
        assert clv / 1.1 - 0.01 <= discounted[customer][0] <= clv
        assert discounted[customer][1] == orders
    assert sum(v[0] for v in discounted.values()) < sum(v[0] for v in plain.values()) / 1.04
    assert values("again") == plain  # the undiscounted values again, from the cache
    assert_one_line_error(run_cli("count", str(shop), "--where", "orders >= 1", "--discount-rate", "-1"), code=2)
