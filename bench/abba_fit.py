"""Least-squares fit for the ABBA CPU benches (bench/e2e-broker-cpu.sh, bench/e2e-client-cpu.sh).

A run's CPU falls with the request count when a starved broker answers fewer, larger requests, so the benches fit
CPU = c0 + c1 * count (+ more counts) + d * [run is B] and report d, the B - A difference at equal request counts.
"""


def solve(M, v):
    """Solves M x = v (Gauss-Jordan with partial pivoting) for a small square M."""
    n = len(M)
    a = [M[i][:] + [v[i]] for i in range(n)]
    for i in range(n):
        p = max(range(i, n), key=lambda k: abs(a[k][i]))
        a[i], a[p] = a[p], a[i]
        for k in range(n):
            if k != i:
                f = a[k][i] / a[i][i]
                for j in range(i, n + 1):
                    a[k][j] -= f * a[i][j]
    return [a[i][n] / a[i][i] for i in range(n)]


def fit_last_term(X, y):
    """Ordinary least squares of y on the rows of X; returns (coefficients, standard error of the last one)."""
    m = len(X[0])
    XtX = [[sum(x[i] * x[j] for x in X) for j in range(m)] for i in range(m)]
    c = solve(XtX, [sum(x[i] * v for x, v in zip(X, y)) for i in range(m)])
    resid = [v - sum(a * b for a, b in zip(x, c)) for x, v in zip(X, y)]
    unit = [0] * (m - 1) + [1]
    var = sum(e * e for e in resid) / max(1, len(y) - m) * solve(XtX, unit)[m - 1]
    return c, var ** 0.5
