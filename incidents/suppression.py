"""Statistical disclosure control for the public incident tables (pure Python, no database).

Every public count of child injury incidents goes through this module first. It hides small counts
(*primary suppression*) and then hides as few further values as it can so that no hidden value can be
worked out exactly from what stays visible (*complementary* or *secondary suppression*).

Two shapes are handled:

* :func:`suppress_table` - a two-dimensional table (rows e.g. communes, columns e.g. incident kinds or
  age bands), optionally with a total for each row, for each column and a grand total;
* :func:`suppress_series` - a one-dimensional list (e.g. the districts of the province), optionally with
  the total (the province figure).

Primary suppression
-------------------
A count ``1 <= n < threshold`` (default threshold 5, so 1-4) is hidden, and so is every published total
(row, column, grand, series total) in that range. ``threshold=1`` hides nothing.

Zero is published as 0. A zero says that *no* child in that place and category was hurt: it describes
nobody, so there is no child to recognise, and hiding the many zeros of a sparse table would hide most
of it for nothing. The price is taken into account below: because zeros are never hidden, an attacker
knows that every hidden value is at least 1, and the checker assumes exactly that.

Complementary suppression
-------------------------
1. *Line rule.* In every row and every column whose total is published (the row of column totals with
   the grand total, and the column of row totals with the grand total, count as lines too), the number
   of hidden values must be 0 or at least 2: a single hidden value would be the total minus the rest.
   When a line has exactly one, the module hides one more published value of that line that is above 0,
   choosing, in this order: a cell rather than a total; one whose crossing line also has a single hidden
   value (one suppression then serves two lines); the smallest; the first in table order. It repeats
   until no line has a single hidden value. A line whose total is not published imposes no constraint.
2. *Exact check.* The line rule is not enough: two hidden cells of a line can still be pinned (a 2x2
   block of hidden 1s: each row's two hidden cells add up to 2 and neither can be below 1, so both are
   1; a "bridge" between two groups of hidden cells is the difference of two published sums; with only
   the grand total published there are no lines at all...). So the module then computes,
   exactly, which hidden values an attacker could derive (see *How recoverability is checked*) and, for
   each one, hides the cheapest set of further published values that opens a way for it to change: a
   shortest path (Dijkstra) whose cost is (number of totals hidden, sum of the values hidden), so totals
   are hidden only when no set of cells will do. It loops until nothing hidden can be derived.
   (This check alone would also enforce the line rule, since a lone hidden value in a constrained line
   is always derivable; the line rule stays as the first, documented pass.)

The loop always ends: each round hides at least one more value, and a table whose every non-zero value
is hidden leaves every one of them free to grow (add 1 to a cell, its row total, its column total and
the grand total), so the worst case is "everything above zero hidden".

The result is deterministic: rows and columns are sorted (or taken in the order given), every choice is
broken by table order, and no randomness or set iteration order is involved.

Display convention: one symbol for every hidden value
-----------------------------------------------------
Every hidden value, primary or complementary, cell or total, is shown as the same symbol,
:data:`HIDDEN_LABEL` (``"x"``), explained by the footnote :meth:`SuppressedTable.footnote` ("x: hidden to
protect children's privacy (fewer than 5, or hidden so that such a small number cannot be worked out from
the totals)"). The request that counts 1-4 appear as "<5" is met by the footnote rather than by the
symbol, because the two obvious alternatives are worse:

* ``"<5"`` on primary cells and another symbol on complementary ones tells the attacker which cells are
  1-4 and which are 5 or more. That extra knowledge breaks the protection: a row whose other cells are 0
  with total 6, showing ``<5`` and ``x``, gives ``<5 + x = 6`` with ``x >= 5``, so the ``<5`` is exactly 1.
* ``"<5"`` on every hidden value is false for complementary cells (a hidden 37 would read "<5") and
  would mislead the planners who use these tables.

The single symbol is configurable (``hidden_label=``), but must stay one symbol for all hidden values.
``hidden_primary`` and ``hidden_complementary`` are kept on the result for audits and tests only: never
publish which of the two a value belongs to.

How recoverability is checked
-----------------------------
Write the table with its margins as an ``(R+1) x (C+1)`` array ``Y``: cells and the grand total as they
are, row and column totals negated. Then every row and every column of ``Y`` sums to 0, and those are
all the equations the published table implies. Hidden values are unknowns ``>= 1``; totals that are not
published at all are unknowns without a bound (they are still tied to their line). Think of rows and
columns of ``Y`` as the two sides of a bipartite graph and of every unknown entry as an edge: raising
``Y[i][j]`` is an arc row i -> column j, lowering it an arc column j -> row i. An arc exists unless the
bound forbids the move (a hidden cell at 1 cannot go down, a hidden total at 1 cannot go down either,
which is ``Y`` going up).

A hidden value can be changed, keeping every published number and every bound, if and only if one of its
arcs lies on a directed cycle of that graph. *If*: adding +1/-1 around the cycle keeps all row and column
sums of ``Y`` and every bound, and gives another integer table. *Only if*: the difference between two
feasible tables is a circulation; it splits into simple cycles that agree with its signs, so one of them
goes through the value and uses only allowed moves. So the feasible values of a hidden entry are a single
number exactly when no such cycle exists - an exact test on integers, no linear programming needed. It
is computed with strongly connected components (one-way arcs), a bridge search over the two-way arcs
(an edge on an undirected cycle of two-way arcs is free) and a breadth-first search for the rare bridges:
linear time per check.

Because hidden values are never below 1, "changeable" means the attacker cannot learn the exact value,
in particular not that it is exactly 1, and never that it is 0.

:func:`recoverable_cells` runs this check on a finished table from its *published* numbers only: it
first finds some table consistent with them (a max-flow with lower bounds) and uses it in place of the
true one, which gives the same answer because the test depends only on the set of feasible tables.
:func:`feasible_ranges` gives each hidden value's exact minimum and maximum (one max-flow per direction
per hidden value); it is meant for audits and tests and refuses tables above
:data:`MAX_RANGE_CELLS` cells.

What is not covered: an attacker who knows the *algorithm* (e.g. that a complementary cell is the
smallest of its line) may narrow ranges further, as with every published suppression method; and a
range such as 1-2 is not an exact value but is narrow. Publishing several overlapping tables (e.g. by
kind and by age band for the same communes) needs the tables protected together; this module protects
one table at a time.

Performance (pure Python, measured on the development machine): a 106 x 7 table (communes x kinds, all
totals) of small counts, 230-740 of them non-zero and up to ~470 primary suppressions, is suppressed in
5-30 ms; :func:`recoverable_cells` takes 15-25 ms on it and :func:`feasible_ranges` 0.2-0.4 s. The
cost grows roughly with (hidden values) x (table size) for the ranges and with the number of exact-check
checks (one or two in practice) x table size for the suppression. ``tests/test_suppression.py`` times it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext, gettext_lazy

DEFAULT_THRESHOLD = 5
HIDDEN_LABEL = "x"
#: For a ``title`` or ``aria-label`` on the hidden symbol, so screen readers say more than "x".
HIDDEN_TITLE = gettext_lazy("hidden to protect children's privacy")
#: :func:`feasible_ranges` refuses larger tables (its cost grows with hidden values x table size).
MAX_RANGE_CELLS = 2000

_PUBLISHED, _HIDDEN, _UNPUBLISHED = 0, 1, 2


class _Total:
    """The key of a total in ``hidden_primary`` / ``hidden_complementary``: see :data:`TOTAL`."""

    _instance: _Total | None = None

    def __new__(cls) -> _Total:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "TOTAL"

    def __reduce__(self):
        return (_Total, ())


#: Stands for "the total" in keys: ``(row, TOTAL)`` is a row total, ``(TOTAL, col)`` a column total,
#: ``(TOTAL, TOTAL)`` the grand total of a table, and ``TOTAL`` alone the total of a series.
TOTAL = _Total()


def _footnote(label: str, threshold: int) -> str:
    return gettext(
        "%(label)s: hidden to protect children's privacy (fewer than %(threshold)s, or hidden so that "
        "such a small number cannot be worked out from the totals)."
    ) % {"label": label, "threshold": threshold}


class _Display:
    hidden_label: str
    threshold: int
    hidden_primary: set
    hidden_complementary: set

    @property
    def hidden(self) -> set:
        """Every hidden key, primary or complementary (safe to use: it does not say which is which)."""
        return self.hidden_primary | self.hidden_complementary

    @property
    def has_hidden(self) -> bool:
        return bool(self.hidden_primary or self.hidden_complementary)

    def display(self, value: int | None) -> str:
        """The text for a published value: the number, or the hidden symbol for ``None``."""
        return self.hidden_label if value is None else str(value)

    def footnote(self) -> str:
        """The translated explanation of the hidden symbol, to print under the table when it has one."""
        return _footnote(self.hidden_label, self.threshold)


@dataclass
class SuppressedTable(_Display):
    """A two-dimensional table ready to publish. ``None`` means hidden.

    ``row_totals`` / ``col_totals`` are empty and ``grand_total`` is ``None`` with ``has_grand_total``
    false when that total is not published at all. Keys of hidden totals in ``hidden_primary`` and
    ``hidden_complementary`` use :data:`TOTAL`. Those two sets are for audits and tests: never publish
    which one a value is in.
    """

    rows: tuple
    cols: tuple
    cells: dict[tuple, int | None]
    row_totals: dict[Hashable, int | None]
    col_totals: dict[Hashable, int | None]
    grand_total: int | None
    hidden_primary: set = field(default_factory=set)
    hidden_complementary: set = field(default_factory=set)
    has_row_totals: bool = True
    has_col_totals: bool = True
    has_grand_total: bool = True
    threshold: int = DEFAULT_THRESHOLD
    hidden_label: str = HIDDEN_LABEL

    def grid(self) -> list[tuple[Hashable, list[str], str | None]]:
        """Rows for a template: ``(row key, [cell texts in column order], row total text or None)``."""
        return [
            (
                row,
                [self.display(self.cells[(row, col)]) for col in self.cols],
                self.display(self.row_totals[row]) if self.has_row_totals else None,
            )
            for row in self.rows
        ]

    def footer(self) -> tuple[list[str], str | None] | None:
        """The totals line for a template: ``([column total texts], grand total text or None)``."""
        if not self.has_col_totals and not self.has_grand_total:
            return None
        texts = [self.display(self.col_totals[col]) for col in self.cols] if self.has_col_totals else []
        return texts, (self.display(self.grand_total) if self.has_grand_total else None)


@dataclass
class SuppressedSeries(_Display):
    """A one-dimensional list ready to publish. ``None`` means hidden; the total's key is :data:`TOTAL`."""

    keys: tuple
    values: dict[Hashable, int | None]
    total: int | None
    hidden_primary: set = field(default_factory=set)
    hidden_complementary: set = field(default_factory=set)
    has_total: bool = True
    threshold: int = DEFAULT_THRESHOLD
    hidden_label: str = HIDDEN_LABEL

    def items(self) -> list[tuple[Hashable, str]]:
        """``(key, text)`` pairs in order, for a template."""
        return [(key, self.display(self.values[key])) for key in self.keys]


# --- the table with its margins -----------------------------------------------------------------------


class _Grid:
    """The table with its margins as an ``(R+1) x (C+1)`` array: index R is the row of column totals and
    index C the column of row totals, so ``(R, C)`` is the grand total.

    ``value`` holds natural (non-negative) numbers, ``None`` where unknown; ``state`` says whether each
    entry is published, hidden or not published at all. In graph terms row i is node ``i`` and column j
    is node ``R + 1 + j``.
    """

    def __init__(self, n_rows: int, n_cols: int):
        self.R, self.C = n_rows, n_cols
        self.value: list[list[int | None]] = [[0] * (n_cols + 1) for _ in range(n_rows + 1)]
        self.state = [[_PUBLISHED] * (n_cols + 1) for _ in range(n_rows + 1)]

    def entries(self) -> Iterable[tuple[int, int]]:
        for i in range(self.R + 1):
            for j in range(self.C + 1):
                yield i, j

    def is_total(self, i: int, j: int) -> bool:
        return i == self.R or j == self.C

    def negative(self, i: int, j: int) -> bool:
        """Row and column totals enter ``Y`` negated; cells and the grand total do not."""
        return (i == self.R) != (j == self.C)

    def line(self, kind: str, k: int) -> list[tuple[int, int]]:
        if kind == "row":
            return [(k, j) for j in range(self.C + 1)]
        return [(i, k) for i in range(self.R + 1)]

    def lines(self) -> list[tuple[str, int]]:
        return [("row", i) for i in range(self.R + 1)] + [("col", j) for j in range(self.C + 1)]

    def moves(self, i: int, j: int, *, as_hidden: bool = False) -> tuple[bool, bool]:
        """Whether ``Y[i][j]`` may go up / down by 1 (for a published entry: as if it were hidden)."""
        state = _HIDDEN if as_hidden else self.state[i][j]
        if state == _UNPUBLISHED:
            return True, True
        above_one = self.value[i][j] >= 2
        if self.negative(i, j):
            return above_one, True
        return True, above_one


def _directed_graph(grid: _Grid) -> list[list[tuple[int, tuple]]]:
    """Arcs ``node -> [(node, entry)]`` of the moves of every unknown entry."""
    out: list[list[tuple[int, tuple]]] = [[] for _ in range(grid.R + grid.C + 2)]
    for i, j in grid.entries():
        if grid.state[i][j] == _PUBLISHED:
            continue
        up, down = grid.moves(i, j)
        if up:
            out[i].append((grid.R + 1 + j, (i, j)))
        if down:
            out[grid.R + 1 + j].append((i, (i, j)))
    return out


def _components(out: list[list[tuple[int, tuple]]]) -> list[int]:
    """Strongly connected components (Kosaraju, iterative): the component number of each node."""
    n = len(out)
    seen = [False] * n
    order: list[int] = []
    for root in range(n):
        if seen[root]:
            continue
        seen[root] = True
        stack = [(root, iter(out[root]))]
        while stack:
            node, arcs = stack[-1]
            for nxt, _entry in arcs:
                if not seen[nxt]:
                    seen[nxt] = True
                    stack.append((nxt, iter(out[nxt])))
                    break
            else:
                stack.pop()
                order.append(node)
    back: list[list[int]] = [[] for _ in range(n)]
    for node in range(n):
        for nxt, _entry in out[node]:
            back[nxt].append(node)
    comp = [-1] * n
    count = 0
    for root in reversed(order):
        if comp[root] != -1:
            continue
        comp[root] = count
        todo = [root]
        while todo:
            node = todo.pop()
            for prev in back[node]:
                if comp[prev] == -1:
                    comp[prev] = count
                    todo.append(prev)
        count += 1
    return comp


def _bridges(adj: list[list[tuple[int, tuple]]]) -> set[tuple]:
    """Bridges of a simple undirected graph given as ``node -> [(node, edge id)]`` (iterative DFS)."""
    n = len(adj)
    disc = [-1] * n
    low = [0] * n
    timer = 0
    bridges: set[tuple] = set()
    for root in range(n):
        if disc[root] != -1:
            continue
        disc[root] = low[root] = timer
        timer += 1
        stack = [(root, None, iter(adj[root]))]
        while stack:
            node, parent_edge, arcs = stack[-1]
            for nxt, edge in arcs:
                if edge == parent_edge:
                    continue
                if disc[nxt] == -1:
                    disc[nxt] = low[nxt] = timer
                    timer += 1
                    stack.append((nxt, edge, iter(adj[nxt])))
                    break
                low[node] = min(low[node], disc[nxt])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > disc[parent]:
                        bridges.add(parent_edge)
    return bridges


def _reaches(out: list[list[tuple[int, tuple]]], start: int, goal: int, skip: tuple) -> bool:
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt, entry in out[node]:
            if entry == skip or nxt in seen:
                continue
            if nxt == goal:
                return True
            seen.add(nxt)
            queue.append(nxt)
    return False


def _determined(grid: _Grid) -> list[tuple[int, int]]:
    """Hidden entries whose value is the only one consistent with the published ones (see the module doc).

    ``grid.value`` must hold a feasible value for every hidden entry (the true one, or any completion).
    """
    out = _directed_graph(grid)
    comp = _components(out)
    two_way: list[list[tuple[int, tuple]]] = [[] for _ in out]
    hidden = []
    for i, j in grid.entries():
        state = grid.state[i][j]
        if state == _PUBLISHED:
            continue
        up, down = grid.moves(i, j)
        if up and down:
            two_way[i].append((grid.R + 1 + j, (i, j)))
            two_way[grid.R + 1 + j].append((i, (i, j)))
        if state == _HIDDEN:
            hidden.append(((i, j), up and down))
    bridges = _bridges(two_way)
    stuck = []
    for (i, j), both in hidden:
        row_node, col_node = i, grid.R + 1 + j
        if not both:
            free = comp[row_node] == comp[col_node]
        elif (i, j) not in bridges:
            free = True
        else:
            free = _reaches(out, col_node, row_node, (i, j)) or _reaches(out, row_node, col_node, (i, j))
        if not free:
            stuck.append((i, j))
    return stuck


def _is_determined(grid: _Grid, entry: tuple[int, int]) -> bool:
    i, j = entry
    out = _directed_graph(grid)
    up, down = grid.moves(i, j)
    row_node, col_node = i, grid.R + 1 + j
    return not (
        (up and _reaches(out, col_node, row_node, entry))
        or (down and _reaches(out, row_node, col_node, entry))
    )


# --- suppression ---------------------------------------------------------------------------------------


def _hide(grid: _Grid, entry: tuple[int, int], into: set) -> None:
    grid.state[entry[0]][entry[1]] = _HIDDEN
    into.add(entry)


def _primary(grid: _Grid, threshold: int) -> set:
    primary: set = set()
    for i, j in grid.entries():
        if grid.state[i][j] == _PUBLISHED and 1 <= grid.value[i][j] < threshold:
            _hide(grid, (i, j), primary)
    return primary


def _single_hidden(grid: _Grid, line: list[tuple[int, int]]) -> bool:
    states = [grid.state[i][j] for i, j in line]
    return _UNPUBLISHED not in states and states.count(_HIDDEN) == 1


def _apply_line_rule(grid: _Grid, complementary: set) -> None:
    """Until stable: a constrained line with exactly one hidden value gets a second one (module doc, 1)."""
    lines = grid.lines()
    while True:
        for kind, k in lines:
            line = grid.line(kind, k)
            if not _single_hidden(grid, line):
                continue
            crossing = "col" if kind == "row" else "row"

            def rank(entry: tuple[int, int], crossing: str = crossing) -> tuple:
                i, j = entry
                helps = _single_hidden(grid, grid.line(crossing, j if crossing == "col" else i))
                return (grid.is_total(i, j), not helps, grid.value[i][j], i, j)

            candidates = [(i, j) for i, j in line if grid.state[i][j] == _PUBLISHED and grid.value[i][j] > 0]
            if candidates:  # always, as the hidden value is >= 1; if not, the exact check takes over
                _hide(grid, min(candidates, key=rank), complementary)
                break
        else:
            return


def _cheapest_opening(grid: _Grid, entry: tuple[int, int]) -> list[tuple[int, int]]:
    """The published entries to hide so that ``entry`` lies on a cycle of moves, cheapest first.

    Cost of a path: (number of totals it hides, sum of the values it hides); entries already hidden or
    unpublished cost nothing. Returns ``[]`` only if no such path exists (cannot happen, see module doc).
    """
    n = grid.R + grid.C + 2
    out: list[list[tuple[int, tuple[int, int], tuple[int, int], bool]]] = [[] for _ in range(n)]
    for i, j in grid.entries():
        if (i, j) == entry:
            continue
        published = grid.state[i][j] == _PUBLISHED
        if published and grid.value[i][j] == 0:
            continue
        cost = (int(grid.is_total(i, j)), grid.value[i][j]) if published else (0, 0)
        up, down = grid.moves(i, j, as_hidden=published)
        if up:
            out[i].append((grid.R + 1 + j, cost, (i, j), published))
        if down:
            out[grid.R + 1 + j].append((i, cost, (i, j), published))

    def cheapest(start: int, goal: int) -> tuple[tuple[int, int], list[tuple[int, int]]] | None:
        best = {start: (0, 0)}
        came: dict[int, tuple[int, tuple[int, int], bool]] = {}
        heap = [((0, 0), start)]
        while heap:
            cost, node = heapq.heappop(heap)
            if cost > best[node]:
                continue
            if node == goal:
                path, at = [], goal
                while at != start:
                    at, hop, published = came[at]
                    if published:
                        path.append(hop)
                return cost, sorted(path)
            for nxt, step, hop, published in out[node]:
                new = (cost[0] + step[0], cost[1] + step[1])
                if nxt not in best or new < best[nxt]:
                    best[nxt] = new
                    came[nxt] = (node, hop, published)
                    heapq.heappush(heap, (new, nxt))
        return None

    i, j = entry
    up, down = grid.moves(i, j)
    options = []
    if up:
        options.append(cheapest(grid.R + 1 + j, i))
    if down:
        options.append(cheapest(i, grid.R + 1 + j))
    options = [option for option in options if option is not None]
    return min(options)[1] if options else []


def _suppress(grid: _Grid, threshold: int) -> tuple[set, set]:
    """Hide entries of ``grid`` (true values) in place; returns (primary, complementary) entry sets."""
    primary = _primary(grid, threshold)
    complementary: set = set()
    _apply_line_rule(grid, complementary)
    while True:
        stuck = _determined(grid)
        if not stuck:
            return primary, complementary
        for entry in stuck:
            if not _is_determined(grid, entry):
                continue  # opened by an earlier fix of this round
            opening = _cheapest_opening(grid, entry)
            if not opening:  # pragma: no cover - impossible, see the module doc
                raise RuntimeError(f"cannot protect {entry}")
            for hop in opening:
                _hide(grid, hop, complementary)


# --- input and output ----------------------------------------------------------------------------------


def _check_threshold(threshold: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 1:
        raise ValueError(f"threshold must be a whole number of at least 1, got {threshold!r}")


def _check_count(key, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"count for {key!r} must be a whole number of at least 0, got {value!r}")


def _ordered(keys: Iterable, given: Sequence | None, what: str) -> tuple:
    keys = set(keys)
    if given is not None:
        ordered = tuple(given)
        if len(set(ordered)) != len(ordered):
            raise ValueError(f"{what} are listed twice")
        missing = keys - set(ordered)
        if missing:
            raise ValueError(f"counts use {what} not listed: {sorted(map(repr, missing))}")
        return ordered
    try:
        return tuple(sorted(keys))
    except TypeError:
        return tuple(sorted(keys, key=lambda key: (type(key).__name__, repr(key))))


def suppress_table(
    counts: Mapping[tuple[Hashable, Hashable], int],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
    grand_total: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    rows: Sequence | None = None,
    cols: Sequence | None = None,
    hidden_label: str = HIDDEN_LABEL,
) -> SuppressedTable:
    """Protect a two-dimensional table of counts for publication.

    ``counts`` maps ``(row, col)`` to a count; a missing pair counts 0. ``rows`` / ``cols`` give the order
    (and may add rows or columns with no entry, e.g. communes without incidents); by default the keys
    are sorted. ``row_totals`` / ``col_totals`` / ``grand_total`` say which totals will be published:
    only those constrain what can be derived. See the module docstring for the method.
    """
    _check_threshold(threshold)
    for key, value in counts.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"table keys must be (row, column) pairs, got {key!r}")
        _check_count(key, value)
    row_keys = _ordered((key[0] for key in counts), rows, "rows")
    col_keys = _ordered((key[1] for key in counts), cols, "columns")
    n_rows, n_cols = len(row_keys), len(col_keys)
    grid = _Grid(n_rows, n_cols)
    for i, row in enumerate(row_keys):
        for j, col in enumerate(col_keys):
            value = counts.get((row, col), 0)
            grid.value[i][j] = value
            grid.value[i][n_cols] += value
            grid.value[n_rows][j] += value
            grid.value[n_rows][n_cols] += value
    for i in range(n_rows):
        if not row_totals:
            grid.state[i][n_cols] = _UNPUBLISHED
    for j in range(n_cols):
        if not col_totals:
            grid.state[n_rows][j] = _UNPUBLISHED
    if not grand_total:
        grid.state[n_rows][n_cols] = _UNPUBLISHED
    primary, complementary = _suppress(grid, threshold)

    def key(i: int, j: int) -> tuple:
        return (row_keys[i] if i < n_rows else TOTAL, col_keys[j] if j < n_cols else TOTAL)

    def shown(i: int, j: int) -> int | None:
        return None if grid.state[i][j] == _HIDDEN else grid.value[i][j]

    return SuppressedTable(
        rows=row_keys,
        cols=col_keys,
        cells={key(i, j): shown(i, j) for i in range(n_rows) for j in range(n_cols)},
        row_totals={row_keys[i]: shown(i, n_cols) for i in range(n_rows)} if row_totals else {},
        col_totals={col_keys[j]: shown(n_rows, j) for j in range(n_cols)} if col_totals else {},
        grand_total=shown(n_rows, n_cols) if grand_total else None,
        hidden_primary={key(*entry) for entry in primary},
        hidden_complementary={key(*entry) for entry in complementary},
        has_row_totals=row_totals,
        has_col_totals=col_totals,
        has_grand_total=grand_total,
        threshold=threshold,
        hidden_label=hidden_label,
    )


def _series_grid(n: int, total: bool) -> _Grid:
    """A series as an n x 1 table: unpublished row totals and grand total, the column total its total."""
    grid = _Grid(n, 1)
    for i in range(n):
        grid.state[i][1] = _UNPUBLISHED
    grid.state[n][1] = _UNPUBLISHED
    if not total:
        grid.state[n][0] = _UNPUBLISHED
    return grid


def suppress_series(
    counts: Mapping[Hashable, int],
    *,
    total: bool = True,
    threshold: int = DEFAULT_THRESHOLD,
    keys: Sequence | None = None,
    hidden_label: str = HIDDEN_LABEL,
) -> SuppressedSeries:
    """Protect a one-dimensional list of counts (e.g. areas) and, if ``total``, its published total.

    ``keys`` gives the order (and may add keys counting 0); by default the keys are sorted.
    """
    _check_threshold(threshold)
    for key, value in counts.items():
        _check_count(key, value)
    ordered = _ordered(counts, keys, "keys")
    n = len(ordered)
    grid = _series_grid(n, total)
    for i, key in enumerate(ordered):
        value = counts.get(key, 0)
        grid.value[i][0] = grid.value[i][1] = value
        grid.value[n][0] += value
    grid.value[n][1] = grid.value[n][0]
    primary, complementary = _suppress(grid, threshold)

    def name(i: int) -> Hashable:
        return ordered[i] if i < n else TOTAL

    return SuppressedSeries(
        keys=ordered,
        values={
            key: (None if grid.state[i][0] == _HIDDEN else grid.value[i][0]) for i, key in enumerate(ordered)
        },
        total=(None if grid.state[n][0] == _HIDDEN else grid.value[n][0]) if total else None,
        hidden_primary={name(i) for i, _j in primary},
        hidden_complementary={name(i) for i, _j in complementary},
        has_total=total,
        threshold=threshold,
        hidden_label=hidden_label,
    )


# --- checking a published table ------------------------------------------------------------------------


def _published_grid(
    table: SuppressedTable | SuppressedSeries,
) -> tuple[_Grid, dict[tuple[int, int], Hashable]]:
    """The grid of what ``table`` publishes (unknown values ``None``) and the key of each hidden entry."""
    keys: dict[tuple[int, int], Hashable] = {}

    def put(grid: _Grid, i: int, j: int, value: int | None, key: Hashable) -> None:
        if value is None:
            grid.state[i][j] = _HIDDEN
            keys[(i, j)] = key
        grid.value[i][j] = value

    if isinstance(table, SuppressedSeries):
        n = len(table.keys)
        grid = _series_grid(n, table.has_total)
        for i, key in enumerate(table.keys):
            put(grid, i, 0, table.values[key], key)
            grid.value[i][1] = None
        grid.value[n][1] = None
        if table.has_total:
            put(grid, n, 0, table.total, TOTAL)
        else:
            grid.value[n][0] = None
        return grid, keys
    n_rows, n_cols = len(table.rows), len(table.cols)
    grid = _Grid(n_rows, n_cols)
    for i, row in enumerate(table.rows):
        for j, col in enumerate(table.cols):
            put(grid, i, j, table.cells[(row, col)], (row, col))
    for i, row in enumerate(table.rows):
        if table.has_row_totals:
            put(grid, i, n_cols, table.row_totals[row], (row, TOTAL))
        else:
            grid.state[i][n_cols], grid.value[i][n_cols] = _UNPUBLISHED, None
    for j, col in enumerate(table.cols):
        if table.has_col_totals:
            put(grid, n_rows, j, table.col_totals[col], (TOTAL, col))
        else:
            grid.state[n_rows][j], grid.value[n_rows][j] = _UNPUBLISHED, None
    if table.has_grand_total:
        put(grid, n_rows, n_cols, table.grand_total, (TOTAL, TOTAL))
    else:
        grid.state[n_rows][n_cols], grid.value[n_rows][n_cols] = _UNPUBLISHED, None
    return grid, keys


def _max_flow(residual: list[dict[int, float]], source: int, sink: int, limit: float = math.inf) -> float:
    """Edmonds-Karp on ``residual`` (changed in place); stops at ``limit``; ``inf`` if unbounded."""
    flow = 0
    while flow < limit:
        parent: dict[int, int | None] = {source: None}
        queue = deque([source])
        while queue and sink not in parent:
            node = queue.popleft()
            for nxt, capacity in residual[node].items():
                if capacity > 0 and nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        if sink not in parent:
            break
        push, node = limit - flow, sink
        while parent[node] is not None:
            push = min(push, residual[parent[node]][node])
            node = parent[node]
        if push == math.inf:
            return math.inf
        node = sink
        while parent[node] is not None:
            prev = parent[node]
            residual[prev][node] -= push
            residual[node][prev] = residual[node].get(prev, 0) + push
            node = prev
        flow += push
    return flow


def _complete(grid: _Grid) -> None:
    """Fill the hidden entries of ``grid`` with some values (>= 1) consistent with the published ones.

    A circulation with lower bounds: rows of ``Y`` send, columns receive, each hidden entry forces 1 unit
    and may carry more, unpublished totals carry any amount either way. Raises ``ValueError`` if the
    published numbers contradict each other.
    """
    n = grid.R + grid.C + 2
    source, sink = n, n + 1
    need = [0] * n  # net outflow each node still has to send through unknown entries
    for i, j in grid.entries():
        col_node = grid.R + 1 + j
        state = grid.state[i][j]
        if state == _PUBLISHED:
            y = -grid.value[i][j] if grid.negative(i, j) else grid.value[i][j]
            need[i] -= y
            need[col_node] += y
        elif state == _HIDDEN:
            forced = -1 if grid.negative(i, j) else 1
            need[i] -= forced
            need[col_node] += forced
    supply = sum(x for x in need if x > 0)
    if supply != -sum(x for x in need if x < 0):
        raise ValueError("the published numbers contradict each other")
    big = supply + 1
    residual: list[dict[int, float]] = [{} for _ in range(n + 2)]
    for i, j in grid.entries():
        col_node = grid.R + 1 + j
        state = grid.state[i][j]
        if state == _PUBLISHED:
            continue
        if state == _UNPUBLISHED or not grid.negative(i, j):
            residual[i][col_node] = big
        if state == _UNPUBLISHED or grid.negative(i, j):
            residual[col_node][i] = big
    for node, x in enumerate(need):
        if x > 0:
            residual[source][node] = x
        elif x < 0:
            residual[node][sink] = -x
    if _max_flow(residual, source, sink) < supply:
        raise ValueError("the published numbers contradict each other")
    for i, j in grid.entries():
        if grid.state[i][j] == _HIDDEN:
            col_node = grid.R + 1 + j
            if grid.negative(i, j):
                grid.value[i][j] = 1 + big - residual[col_node][i]
            else:
                grid.value[i][j] = 1 + big - residual[i][col_node]


def recoverable_cells(table: SuppressedTable | SuppressedSeries) -> set:
    """Keys of the hidden values of ``table`` that its published numbers pin to a single value.

    Uses only what ``table`` publishes (plus the knowledge that hidden values are >= 1), so it also
    audits tables that were not made by this module. Empty for every table this module makes. Works on
    tables of any size (linear time after one max-flow).
    """
    grid, keys = _published_grid(table)
    _complete(grid)
    return {keys[entry] for entry in _determined(grid)}


def feasible_ranges(
    table: SuppressedTable | SuppressedSeries, *, max_cells: int = MAX_RANGE_CELLS
) -> dict[Hashable, tuple[int, int | None]]:
    """For each hidden value of ``table``: the smallest and largest value consistent with what it
    publishes (``None`` when unbounded). Uses the published numbers only.

    One max-flow per direction per hidden value: for audits and tests, refused above ``max_cells`` cells.
    """
    grid, keys = _published_grid(table)
    size = grid.R * grid.C
    if size > max_cells:
        raise ValueError(f"table too large for feasible_ranges ({size} > {max_cells} cells)")
    _complete(grid)

    def capacity(i: int, j: int) -> tuple[float, float]:
        """How far ``Y[i][j]`` may go up and down."""
        if grid.state[i][j] == _UNPUBLISHED:
            return math.inf, math.inf
        slack = grid.value[i][j] - 1
        return (slack, math.inf) if grid.negative(i, j) else (math.inf, slack)

    ranges: dict[Hashable, tuple[int, int | None]] = {}
    for entry, key in sorted(keys.items()):
        i, j = entry
        residual: list[dict[int, float]] = [{} for _ in range(grid.R + grid.C + 2)]
        for a, b in grid.entries():
            if grid.state[a][b] != _PUBLISHED and (a, b) != entry:
                up, down = capacity(a, b)
                residual[a][grid.R + 1 + b] = up
                residual[grid.R + 1 + b][a] = down
        up_limit, down_limit = capacity(i, j)
        row_node, col_node = i, grid.R + 1 + j
        up = _max_flow([dict(arcs) for arcs in residual], col_node, row_node, up_limit)
        down = _max_flow(residual, row_node, col_node, down_limit)
        if grid.negative(i, j):  # the value is -Y
            up, down = down, up
        value = grid.value[i][j]
        ranges[key] = (int(value - down), None if up == math.inf else int(value + up))
    return ranges
