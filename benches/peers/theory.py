"""Exact figures of the M/M/c FIFO queue, the ground truth every tool is judged against.

Standard library only. Rates are per second of simulated time: lam arrivals, mu services per
worker, c workers. The sojourn time is the whole stay: waiting for a worker plus service.
"""
import math


def erlang_c(c, offered):
    """Probability that an arrival waits, for `offered` = lam / mu Erlangs on c workers.

    Computed through Erlang B's recursion B(k) = a B(k-1) / (k + a B(k-1)), which never forms
    a^c / c! and so stays accurate for large c.
    """
    if offered >= c:
        raise ValueError(f"unstable: offered load {offered} >= {c} workers")
    blocking = 1.0
    for k in range(1, c + 1):
        blocking = offered * blocking / (k + offered * blocking)
    rho = offered / c
    return blocking / (1.0 - rho * (1.0 - blocking))


def mean_sojourn_s(c, lam, mu):
    """W = C(c, a) / (c mu - lam) + 1 / mu."""
    return erlang_c(c, lam / mu) / (c * mu - lam) + 1.0 / mu


def sojourn_survival(t, c, lam, mu):
    """P(sojourn > t).

    With probability 1 - C an arrival starts at once and stays Exp(mu). Otherwise it waits an
    Exp(gamma) time, gamma = c mu - lam (the rate at which the queue ahead of it drains),
    and then is served: the sum of Exp(gamma) and Exp(mu), whose survival function is
    (gamma e^(-mu t) - mu e^(-gamma t)) / (gamma - mu), or (1 + mu t) e^(-mu t) when the
    two rates are equal.
    """
    if t <= 0.0:
        return 1.0
    waits = erlang_c(c, lam / mu)
    gamma = c * mu - lam
    served = math.exp(-mu * t)
    if abs(gamma - mu) < 1e-12 * mu:
        waited_then_served = (1.0 + mu * t) * served
    else:
        waited_then_served = (gamma * served - mu * math.exp(-gamma * t)) / (gamma - mu)
    return (1.0 - waits) * served + waits * waited_then_served


def sojourn_quantile_s(q, c, lam, mu):
    """The q-quantile of the sojourn time, by bisection on the survival function."""
    low, high = 0.0, 1.0 / mu
    while sojourn_survival(high, c, lam, mu) > 1.0 - q:
        low, high = high, 2.0 * high
    for _ in range(200):
        middle = 0.5 * (low + high)
        if sojourn_survival(middle, c, lam, mu) > 1.0 - q:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _self_check():
    # M/M/1: the sojourn is Exp(mu - lam), so W = 1 / (mu - lam) and p99 = ln(100) / (mu - lam).
    assert abs(mean_sojourn_s(1, 0.9, 1.0) - 10.0) < 1e-9
    assert abs(sojourn_quantile_s(0.99, 1, 0.9, 1.0) - math.log(100) / 0.1) < 1e-9
    # Erlang C for 2 workers at a = 1.4 Erlangs: a^2/2 x 2/(2 - a) over (1 + a + that) = 0.576471.
    assert abs(erlang_c(2, 1.4) - 0.5764705882) < 1e-9


_self_check()

if __name__ == "__main__":
    for c, lam in [(1, 0.9), (4, 3.2), (16, 14.4)]:
        print(f"M/M/{c} lam={lam}: C={erlang_c(c, lam):.6f} W={mean_sojourn_s(c, lam, 1.0):.6f} "
              f"p99={sojourn_quantile_s(0.99, c, lam, 1.0):.6f}")
