"""Statistical disclosure control of the public incident tables (incidents/suppression.py); no database.

The property tests check the module against an independent attacker written here: an exact linear
program (rational simplex, Bland's rule) over what a table publishes. For every hidden value it looks for
a table consistent with everything published in which that value differs; the optimum is a vertex, which
must come out integral (the constraint matrix is a network matrix), and the test verifies that integer
table directly, so a pass never rests on the theory: it rests on an explicit counter-example table.
"""

import ast
import json
import random
import re
import time
from fractions import Fraction
from pathlib import Path

import pytest
from django.utils import translation

from incidents.suppression import (
    HIDDEN_LABEL,
    TOTAL,
    SuppressedSeries,
    SuppressedTable,
    feasible_ranges,
    recoverable_cells,
    suppress_series,
    suppress_table,
)

ROOT = Path(__file__).resolve().parent.parent


# --- the independent attacker ---------------------------------------------------------------------------


def published_system(table):
    """What ``table`` publishes, as linear equations over its unknowns.

    Returns (unknowns, lower bounds, equations); an equation is ({unknown: coefficient}, constant) for
    ``sum(coefficient * unknown) + constant == 0``. Hidden values are at least 1 (zeros are never hidden),
    totals that are not published at all at least 0.
    """
    unknowns, lower, equations = [], {}, []

    def term(key, value, published):
        if published and value is not None:
            return None, value
        if key not in lower:
            unknowns.append(key)
            lower[key] = 1 if published else 0
        return key, 0

    def equation(parts, total):
        coefficients, constant = {}, 0
        for key, value in parts:
            if key is None:
                constant += value
            else:
                coefficients[key] = coefficients.get(key, 0) + 1
        key, value = total
        if key is None:
            constant -= value
        else:
            coefficients[key] = coefficients.get(key, 0) - 1
        equations.append((coefficients, constant))

    if isinstance(table, SuppressedSeries):
        parts = [term(("v", k), table.values[k], True) for k in table.keys]
        equation(parts, term(("total",), table.total, table.has_total))
        return unknowns, lower, equations
    cell = {(r, c): term(("cell", r, c), table.cells[(r, c)], True) for r in table.rows for c in table.cols}
    row_total = {r: term(("row", r), table.row_totals.get(r), table.has_row_totals) for r in table.rows}
    col_total = {c: term(("col", c), table.col_totals.get(c), table.has_col_totals) for c in table.cols}
    grand = term(("grand",), table.grand_total, table.has_grand_total)
    for r in table.rows:
        equation([cell[(r, c)] for c in table.cols], row_total[r])
    for c in table.cols:
        equation([cell[(r, c)] for r in table.rows], col_total[c])
    equation(list(row_total.values()), grand)
    equation(list(col_total.values()), grand)
    return unknowns, lower, equations


def hidden_keys(table):
    """The published-table key (as used by the module) of each hidden value, by unknown name."""
    if isinstance(table, SuppressedSeries):
        keys = {("v", k): k for k in table.keys if table.values[k] is None}
        if table.has_total and table.total is None:
            keys[("total",)] = TOTAL
        return keys
    keys = {("cell", r, c): (r, c) for (r, c), v in table.cells.items() if v is None}
    keys |= {("row", r): (r, TOTAL) for r, v in table.row_totals.items() if v is None}
    keys |= {("col", c): (TOTAL, c) for c, v in table.col_totals.items() if v is None}
    if table.has_grand_total and table.grand_total is None:
        keys[("grand",)] = (TOTAL, TOTAL)
    return keys


class Attacker:
    """Exact LP over the published equations: x = lower + s, s >= 0, A s = b (Fractions throughout)."""

    def __init__(self, table):
        self.unknowns, self.lower, self.equations = published_system(table)
        self.n = n = len(self.unknowns)
        index = {key: k for k, key in enumerate(self.unknowns)}
        rows = []
        for coefficients, constant in self.equations:
            row = [Fraction(0)] * n
            rhs = Fraction(-constant)
            for key, a in coefficients.items():
                row[index[key]] += a
                rhs -= a * self.lower[key]
            if any(row) or rhs:
                rows.append((row, rhs))
        self.A = [row for row, _ in rows]
        self.b = [rhs for _, rhs in rows]
        self._phase_one()

    @staticmethod
    def _pivot(tableau, r, col):
        p = tableau[r][col]
        tableau[r] = [x / p for x in tableau[r]]
        pivot_row = tableau[r]
        for i, row in enumerate(tableau):
            f = row[col]
            if i != r and f:
                tableau[i] = [x - f * y for x, y in zip(row, pivot_row, strict=True)]

    def _run(self, tableau, basis, cost, ncols):
        """Primal simplex with Bland's rule; returns 'optimal' or 'unbounded'."""
        while True:
            in_basis = set(basis)
            enter = None
            for j in range(ncols):
                if j in in_basis:
                    continue
                reduced = cost[j] - sum(cost[basis[i]] * row[j] for i, row in enumerate(tableau) if row[j])
                if reduced < 0:
                    enter = j
                    break
            if enter is None:
                return "optimal"
            leave, best = None, None
            for i, row in enumerate(tableau):
                if row[enter] > 0:
                    ratio = row[-1] / row[enter]
                    if best is None or ratio < best or (ratio == best and basis[i] < basis[leave]):
                        leave, best = i, ratio
            if leave is None:
                return "unbounded"
            self._pivot(tableau, leave, enter)
            basis[leave] = enter

    def _phase_one(self):
        n, m = self.n, len(self.A)
        tableau = []
        for i, (row, rhs) in enumerate(zip(self.A, self.b, strict=True)):
            sign = -1 if rhs < 0 else 1
            artificial = [Fraction(int(k == i)) for k in range(m)]
            tableau.append([sign * x for x in row] + artificial + [sign * rhs])
        basis = [n + i for i in range(m)]
        cost = [Fraction(0)] * n + [Fraction(1)] * m
        assert self._run(tableau, basis, cost, n + m) == "optimal"
        assert sum(row[-1] for i, row in enumerate(tableau) if basis[i] >= n) == 0, (
            "published table infeasible"
        )
        keep = []
        for i in range(m):
            if basis[i] >= n:
                col = next((j for j in range(n) if tableau[i][j] != 0), None)
                if col is None:
                    continue  # a redundant equation
                self._pivot(tableau, i, col)
                basis[i] = col
            keep.append(i)
        self.tableau = [tableau[i][:n] + [tableau[i][-1]] for i in keep]
        self.basis = [basis[i] for i in keep]

    def optimum(self, key, sense):
        """Min (sense=+1) or max (sense=-1) of unknown ``key``: (value or None if unbounded, solution)."""
        k = self.unknowns.index(key)
        tableau = [list(row) for row in self.tableau]
        basis = list(self.basis)
        cost = [Fraction(0)] * self.n
        cost[k] = Fraction(sense)
        if self._run(tableau, basis, cost, self.n) == "unbounded":
            return None, None
        s = [Fraction(0)] * self.n
        for i, j in enumerate(basis):
            s[j] = tableau[i][-1]
        x = {key: self.lower[key] + s[j] for j, key in enumerate(self.unknowns)}
        return x[key], x

    def verify(self, x):
        """An explicit integer table consistent with everything published (the counter-example)."""
        assert all(v.denominator == 1 and v >= self.lower[key] for key, v in x.items()), x
        for coefficients, constant in self.equations:
            assert sum(a * x[key] for key, a in coefficients.items()) + constant == 0

    def range(self, key):
        """Exact (min, max or None) of a hidden value, each optimum verified as an integer table."""
        low, x = self.optimum(key, +1)
        self.verify(x)
        high, x = self.optimum(key, -1)
        if high is not None:
            self.verify(x)
        return int(low), None if high is None else int(high)

    def can_differ(self, key, true_value):
        """A verified integer table, consistent with the publication, where ``key`` is not ``true_value``."""
        for sense in (-1, +1):
            value, x = self.optimum(key, sense)
            if value is None:
                return True  # unbounded above: not pinned
            if value != true_value:
                self.verify(x)
                assert x[key] != true_value
                return True
        return False


def attacker_recovers(table):
    """Hidden keys whose value the published numbers pin down, by the independent LP."""
    attacker = Attacker(table)
    pinned = set()
    for name, key in hidden_keys(table).items():
        low, _x = attacker.optimum(name, +1)
        high, _x = attacker.optimum(name, -1)
        if high is not None and low == high:
            pinned.add(key)
    return pinned


def assert_safe(table, truth):
    """No hidden value of ``table`` can be recovered (independent LP) and every published value is true."""
    attacker = Attacker(table)
    for name, key in hidden_keys(table).items():
        assert attacker.can_differ(name, truth[key]), f"{key} = {truth[key]} can be worked out"


def table_truth(counts, rows, cols):
    truth = {(r, c): counts.get((r, c), 0) for r in rows for c in cols}
    for r in rows:
        truth[(r, TOTAL)] = sum(truth[(r, c)] for c in cols)
    for c in cols:
        truth[(TOTAL, c)] = sum(truth[(r, c)] for r in rows)
    truth[(TOTAL, TOTAL)] = sum(truth[(r, c)] for r in rows for c in cols)
    return truth


def assert_published_true(table, truth):
    for key, value in table.cells.items():
        assert value is None or value == truth[key]
        assert (value is None) == (key in table.hidden)
    for r, value in table.row_totals.items():
        assert value is None or value == truth[(r, TOTAL)]
        assert (value is None) == ((r, TOTAL) in table.hidden)
    for c, value in table.col_totals.items():
        assert value is None or value == truth[(TOTAL, c)]
        assert (value is None) == ((TOTAL, c) in table.hidden)
    if table.has_grand_total:
        assert table.grand_total in (None, truth[(TOTAL, TOTAL)])
        assert (table.grand_total is None) == ((TOTAL, TOTAL) in table.hidden)
    assert not table.hidden_primary & table.hidden_complementary
    assert all(truth[key] >= 1 for key in table.hidden), "a zero was hidden"
    for key, value in truth.items():
        small = 1 <= value < table.threshold
        if key in table.cells or _published_total(table, key):
            assert (key in table.hidden_primary) == small, key


def _published_total(table, key):
    r, c = key
    if r is TOTAL and c is TOTAL:
        return table.has_grand_total
    return table.has_row_totals if c is TOTAL else table.has_col_totals if r is TOTAL else False


def grid(rows, cols, values):
    """counts from a list of lists."""
    return {(r, c): values[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}


# --- constructed tables with known answers --------------------------------------------------------------


def test_a_single_small_cell_forces_a_second_cell_in_its_row_and_column():
    counts = grid("abc", "xyz", [[2, 10, 20], [6, 30, 40], [50, 60, 70]])
    table = suppress_table(counts)
    assert table.hidden_primary == {("a", "x")}
    # the smallest cell of row a, the smallest of column x, and the cell closing the rectangle
    assert table.hidden_complementary == {("a", "y"), ("b", "x"), ("b", "y")}
    assert table.row_totals == {"a": 32, "b": 76, "c": 180}
    assert table.col_totals == {"x": 58, "y": 100, "z": 130}
    assert table.grand_total == 288
    assert table.cells[("c", "x")] == 50 and table.cells[("a", "z")] == 20
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    assert feasible_ranges(table) == {
        ("a", "x"): (1, 7),
        ("a", "y"): (5, 11),
        ("b", "x"): (1, 7),
        ("b", "y"): (29, 35),
    }
    assert_safe(table, table_truth(counts, "abc", "xyz"))


def test_naive_suppression_leaks_through_the_row_total_and_is_prevented():
    counts = grid("ab", "xyz", [[3, 10, 20], [8, 9, 30]])
    naive = SuppressedTable(
        rows=("a", "b"),
        cols=("x", "y", "z"),
        cells={**counts, ("a", "x"): None},
        row_totals={"a": 33, "b": 47},
        col_totals={"x": 11, "y": 19, "z": 50},
        grand_total=80,
        hidden_primary={("a", "x")},
    )
    assert 33 - 10 - 20 == 3  # what anyone can do with the naive table
    assert recoverable_cells(naive) == {("a", "x")} == attacker_recovers(naive)
    assert feasible_ranges(naive) == {("a", "x"): (3, 3)}

    table = suppress_table(counts)
    assert table.hidden_primary == {("a", "x")}
    assert table.hidden_complementary == {("a", "y"), ("b", "x"), ("b", "y")}
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    assert_safe(table, table_truth(counts, "ab", "xyz"))


def test_a_block_of_ones_that_satisfies_the_line_rule_is_still_protected():
    """Rows a and b each have two hidden 1s, but a row total of 22 = 1 + 1 + 20 says they are exactly 1."""
    counts = grid("abc", "xyz", [[1, 1, 20], [1, 1, 30], [40, 50, 60]])
    naive = SuppressedTable(
        rows=tuple("abc"),
        cols=tuple("xyz"),
        cells={**counts, ("a", "x"): None, ("a", "y"): None, ("b", "x"): None, ("b", "y"): None},
        row_totals={"a": 22, "b": 32, "c": 150},
        col_totals={"x": 42, "y": 52, "z": 110},
        grand_total=204,
    )
    both = {("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")}
    assert recoverable_cells(naive) == both == attacker_recovers(naive)
    table = suppress_table(counts)
    assert table.hidden_primary == both
    # every column has to get a hidden cell that can go down: here it takes the whole table
    assert table.hidden == set(counts)
    assert table.row_totals == {"a": 22, "b": 32, "c": 150} and table.grand_total == 204
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    ranges = feasible_ranges(table)
    assert all(low < high for low, high in ranges.values())
    assert_safe(table, table_truth(counts, "abc", "xyz"))


def test_totals_of_one_to_four_are_hidden_and_protected():
    counts = grid("abcd", "xy", [[1, 2], [0, 3], [6, 7], [20, 30]])
    table = suppress_table(counts)
    # row totals 3 and 3, column totals 27 and 42, grand total 69
    assert {("a", TOTAL), ("b", TOTAL)} <= table.hidden_primary
    assert table.row_totals["a"] is None and table.row_totals["b"] is None
    assert table.hidden_primary == {("a", "x"), ("a", "y"), ("b", "y"), ("a", TOTAL), ("b", TOTAL)}
    assert table.cells[("b", "x")] == 0  # zero stays visible
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    assert_published_true(table, table_truth(counts, "abcd", "xy"))
    assert_safe(table, table_truth(counts, "abcd", "xy"))

    tiny = suppress_table({("a", "x"): 1, ("a", "y"): 2, ("b", "x"): 0, ("b", "y"): 1})
    assert tiny.grand_total is None and (TOTAL, TOTAL) in tiny.hidden_primary
    assert set(tiny.col_totals.values()) == {None}
    assert tiny.row_totals == {"a": None, "b": None}
    assert tiny.cells[("b", "x")] == 0
    assert recoverable_cells(tiny) == set() == attacker_recovers(tiny)


def test_a_row_of_zeros_stays_visible_and_needs_nothing():
    counts = grid(
        ["Bum Nưa", "Mù Cả", "Pa Vệ Sử"], ["drowning", "road", "fall"], [[0, 0, 0], [7, 12, 9], [5, 0, 8]]
    )
    table = suppress_table(counts)
    assert table.hidden == set()
    assert table.cells[("Bum Nưa", "road")] == 0 and table.row_totals["Bum Nưa"] == 0
    assert table.grand_total == 41

    zeros = suppress_table({("a", "x"): 0, ("a", "y"): 0, ("b", "x"): 0, ("b", "y"): 0})
    assert zeros.hidden == set() and zeros.grand_total == 0 and set(zeros.cells.values()) == {0}
    # rows and columns listed without any count appear as zeros
    listed = suppress_table({("a", "x"): 9}, rows=["a", "z"], cols=["x", "w"])
    assert listed.rows == ("a", "z") and listed.cols == ("x", "w")
    assert listed.cells == {("a", "x"): 9, ("a", "w"): 0, ("z", "x"): 0, ("z", "w"): 0}
    assert listed.row_totals == {"a": 9, "z": 0}


def test_a_table_of_only_small_counts():
    counts = grid("abc", "xyz", [[1, 2, 3], [4, 1, 2], [3, 4, 1]])
    table = suppress_table(counts)
    assert table.hidden_primary >= set(counts)
    assert all(value is None for value in table.cells.values())
    assert table.row_totals == {"a": 6, "b": 7, "c": 8}  # the margins can stay: nothing inside is fixed
    assert table.col_totals == {"x": 8, "y": 7, "z": 6} and table.grand_total == 21
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    assert_safe(table, table_truth(counts, "abc", "xyz"))


def test_a_hidden_cell_is_not_left_pinned_to_one():
    """Two hidden cells of a row that add up to 2 would both be exactly 1: a third has to go."""
    counts = grid("ab", "xyz", [[1, 1, 9], [7, 8, 9]])
    table = suppress_table(counts)
    assert {("a", "x"), ("a", "y")} <= table.hidden_primary
    assert recoverable_cells(table) == set() == attacker_recovers(table)
    for low, high in feasible_ranges(table).values():
        assert high is None or high > low
    assert_safe(table, table_truth(counts, "ab", "xyz"))


def test_when_only_the_grand_total_is_published():
    counts = grid("ab", "xy", [[2, 10], [20, 30]])
    table = suppress_table(counts, row_totals=False, col_totals=False)
    assert table.row_totals == {} and table.col_totals == {} and table.grand_total == 62
    assert table.hidden_primary == {("a", "x")}
    assert table.hidden_complementary == {("a", "y")}  # the smallest other cell
    assert recoverable_cells(table) == set() == attacker_recovers(table)

    no_totals = suppress_table(counts, row_totals=False, col_totals=False, grand_total=False)
    assert no_totals.hidden == {("a", "x")} and no_totals.grand_total is None
    assert no_totals.footer() is None


def test_series_with_one_small_area_and_the_province_total():
    counts = {"Mường Tè": 3, "Sìn Hồ": 12, "Tam Đường": 7, "Than Uyên": 0, "Phong Thổ": 25}
    series = suppress_series(counts)
    assert series.hidden_primary == {"Mường Tè"}
    assert series.hidden_complementary == {"Tam Đường"}  # the smallest other area above zero
    assert series.values["Than Uyên"] == 0 and series.values["Sìn Hồ"] == 12
    assert series.total == 47
    assert [key for key, _text in series.items()] == sorted(counts)
    assert recoverable_cells(series) == set() == attacker_recovers(series)
    assert feasible_ranges(series) == {"Mường Tè": (1, 9), "Tam Đường": (1, 9)}
    assert_safe(series, {**counts, TOTAL: 47})

    without_total = suppress_series(counts, total=False)
    assert without_total.hidden == {"Mường Tè"} and without_total.total is None

    small_total = suppress_series({"a": 1, "b": 2, "c": 0})
    assert small_total.total is None and small_total.hidden == {"a", "b", TOTAL}
    assert recoverable_cells(small_total) == set() == attacker_recovers(small_total)

    ones = suppress_series({"a": 1, "b": 1, "c": 10, "d": 30})
    assert ones.hidden == {"a", "b", "c"} and ones.total == 42  # 1 + 1 = 2 would give both away
    assert feasible_ranges(ones) == {"a": (1, 10), "b": (1, 10), "c": (1, 10)}


def test_the_same_input_gives_the_same_output():
    rng = random.Random(7)
    counts = {
        (f"r{i}", f"c{j}"): rng.choice([0, 0, 1, 2, 3, 5, 6, 9, 14]) for i in range(8) for j in range(6)
    }
    first = suppress_table(counts)
    shuffled = list(counts.items())
    rng.shuffle(shuffled)
    second = suppress_table(dict(shuffled))
    assert first == second
    assert first == suppress_table(counts)
    series = {f"d{i}": rng.choice([0, 1, 4, 5, 8]) for i in range(12)}
    assert suppress_series(series) == suppress_series(dict(reversed(list(series.items()))))


def test_display_uses_one_symbol_for_every_hidden_value():
    table = suppress_table(grid("abc", "xyz", [[2, 10, 20], [6, 30, 40], [50, 60, 70]]))
    assert HIDDEN_LABEL == "x"
    assert table.display(None) == "x" and table.display(0) == "0" and table.display(37) == "37"
    texts = {text for _row, cells, _total in table.grid() for text in cells}
    assert "<5" not in texts and "x" in texts
    assert table.grid()[0] == ("a", ["x", "x", "20"], "32")
    assert table.footer() == (["58", "100", "130"], "288")
    with translation.override("en"):
        assert table.footnote() == (
            "x: hidden to protect children's privacy (fewer than 5, or hidden so that such a small number "
            "cannot be worked out from the totals)."
        )
    custom = suppress_table({("a", "x"): 3, ("a", "y"): 9}, threshold=4, hidden_label="…")
    assert custom.display(None) == "…"
    with translation.override("en"):
        assert custom.footnote().startswith("…: hidden") and "fewer than 4," in custom.footnote()


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        suppress_table({("a", "x"): -1})
    with pytest.raises(ValueError):
        suppress_table({("a", "x"): 2.0})
    with pytest.raises(ValueError):
        suppress_table({("a", "x"): True})
    with pytest.raises(ValueError):
        suppress_table({"a": 3})
    with pytest.raises(ValueError):
        suppress_table({("a", "x"): 3}, threshold=0)
    with pytest.raises(ValueError):
        suppress_table({("a", "x"): 3}, rows=["b"])
    with pytest.raises(ValueError):
        suppress_series({"a": -2})
    with pytest.raises(ValueError):
        recoverable_cells(
            SuppressedTable(
                rows=("a",),
                cols=("x", "y"),
                cells={("a", "x"): None, ("a", "y"): 9},
                row_totals={"a": 5},
                col_totals={"x": None, "y": 9},
                grand_total=5,
            )
        )


# --- properties over random tables ----------------------------------------------------------------------


def skewed(rng):
    u = rng.random()
    if u < 0.35:
        return 0
    if u < 0.70:
        return rng.randint(1, 4)
    if u < 0.85:
        return rng.randint(5, 6)
    return rng.randint(7, 40)


def random_table(rng):
    rows = [f"r{i}" for i in range(rng.randint(1, 8))]
    cols = [f"c{j}" for j in range(rng.randint(1, 6))]
    counts = {(r, c): skewed(rng) for r in rows for c in cols}
    options = {
        "row_totals": rng.random() < 0.85,
        "col_totals": rng.random() < 0.85,
        "grand_total": rng.random() < 0.85,
        "threshold": rng.choice([5, 5, 5, 3]),
    }
    return rows, cols, counts, options


def test_random_tables_leak_nothing_and_publish_only_true_values():
    rng = random.Random(20250701)
    hidden_seen = 0
    for _ in range(250):
        rows, cols, counts, options = random_table(rng)
        table = suppress_table(counts, **options)
        truth = table_truth(counts, rows, cols)
        assert_published_true(table, truth)
        assert_safe(table, truth)
        assert recoverable_cells(table) == set()
        hidden_seen += len(table.hidden)
    assert hidden_seen > 1000  # the tables did exercise suppression


def test_random_series_leak_nothing():
    rng = random.Random(23)
    for _ in range(150):
        counts = {f"area{i}": skewed(rng) for i in range(rng.randint(1, 12))}
        total = rng.random() < 0.85
        series = suppress_series(counts, total=total)
        truth = {**counts, TOTAL: sum(counts.values())}
        for key, value in series.values.items():
            assert value is None or value == counts[key]
            assert (value is None) == (key in series.hidden)
            assert (key in series.hidden_primary) == (1 <= counts[key] < 5)
        assert series.total in ((None, truth[TOTAL]) if total else (None,))
        assert all(truth[key] >= 1 for key in series.hidden)
        assert_safe(series, truth)
        assert recoverable_cells(series) == set()


def test_the_checker_agrees_with_the_independent_attacker_on_naive_tables():
    """Primary suppression only: the module's checker must flag exactly what the LP can pin down."""
    rng = random.Random(99)
    flagged = 0
    for _ in range(120):
        rows, cols, counts, options = random_table(rng)
        truth = table_truth(counts, rows, cols)
        threshold = options["threshold"]

        def shown(key, published, threshold=threshold, truth=truth):
            return truth[key] if published and not 1 <= truth[key] < threshold else None

        naive = SuppressedTable(
            rows=tuple(rows),
            cols=tuple(cols),
            cells={key: shown(key, True) for key in counts},
            row_totals={r: shown((r, TOTAL), True) for r in rows} if options["row_totals"] else {},
            col_totals={c: shown((TOTAL, c), True) for c in cols} if options["col_totals"] else {},
            grand_total=shown((TOTAL, TOTAL), options["grand_total"]),
            has_row_totals=options["row_totals"],
            has_col_totals=options["col_totals"],
            has_grand_total=options["grand_total"],
            threshold=threshold,
        )
        pinned = attacker_recovers(naive)
        assert recoverable_cells(naive) == pinned
        flagged += len(pinned)
    assert flagged > 20  # naive suppression does leak, and the checker sees it


def test_feasible_ranges_match_the_independent_attacker():
    rng = random.Random(5)
    for _ in range(40):
        rows, cols, counts, options = random_table(rng)
        table = suppress_table(counts, **options)
        attacker = Attacker(table)
        expected = {key: attacker.range(name) for name, key in hidden_keys(table).items()}
        assert feasible_ranges(table) == expected


# --- size, translations ---------------------------------------------------------------------------------


def test_province_sized_table_is_fast():
    """106 communes x 7 kinds of realistic, mostly small counts, with every total."""
    rng = random.Random(106)
    kinds = ["drowning", "road", "fall", "burn", "poisoning", "animal", "other"]
    weights = [0.45, 0.2, 0.12, 0.08, 0.06, 0.04, 0.03, 0.02]
    counts = {}
    for i in range(106):
        scale = rng.choice([1, 1, 1, 2, 3, 6])
        for kind in kinds:
            counts[(f"commune{i:03d}", kind)] = rng.choices(range(8), weights)[0] * scale
    start = time.perf_counter()
    table = suppress_table(counts)
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"{elapsed:.2f}s"
    assert recoverable_cells(table) == set()
    assert_published_true(table, table_truth(counts, table.rows, table.cols))


def module_msgids():
    tree = ast.parse((ROOT / "incidents/suppression.py").read_text("utf-8"))
    msgids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"gettext", "gettext_lazy", "_"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            msgids.add(node.args[0].value)
    return msgids


def test_every_message_has_a_vietnamese_translation():
    tables = ROOT / "locale/vi/translations"
    table = json.loads((tables / "incidents_suppression.json").read_text("utf-8"))
    others = {}
    for path in sorted(tables.glob("*.json")):
        if path.name != "incidents_suppression.json":
            others.update(json.loads(path.read_text("utf-8")))
    msgids = module_msgids()
    assert len(msgids) >= 2
    assert msgids <= set(table) | set(others)
    assert not set(table) & set(others), "translated twice, possibly differently"
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid, text in table.items():
        assert msgid in msgids, f"not used: {msgid}"
        assert text and text != msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(text)), msgid
