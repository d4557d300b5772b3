"""Hostile input within limits of memory: each case's peak RSS growth in the server process.

Each case of tests/hostile/cases.py goes through its door (the site API, the site import, the
incident import page, the photo upload) in a forked child that measures its own peak RSS growth
(tests/hostile/memory.py); bench/hostile_memory.py prints the same cases at the real limits.

The bound, 256 MiB a request: a sync worker (gunicorn, 2 per core here) idles at about 150 MiB, and
two workers each handling a hostile request must fit a small server's memory next to PostgreSQL.
The honest answers measured stay below it with a margin (the largest, a JSON body at the 10 MB
limit, peaks near 170 MiB). A case whose cost grows with its body is run small and its peak
extrapolated linearly to the real limit that bounds it (IMPORT_MAX_BYTES, 20 MB, for a site import
file or a shapefile's .shp; IMPORT_MAX_ROWS, 50 000, for the rows of one; the 512 MB unzip budget),
which must stay under the bound too. No wall-clock bound: the child is killed after TIMEOUT only as a
guard against hangs.
"""

import pytest

from .hostile.cases import CASES
from .hostile.memory import run_forked

pytestmark = pytest.mark.django_db

BOUND_MIB = 256
TIMEOUT = 120
PARAMS = [pytest.param(case, id=case.name) for case in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_a_hostile_request_stays_within_the_memory_bound(case, tmp_path, lai_chau):
    setup, act, scale = case.build(tmp_path, False)
    measured = run_forked(setup, act, timeout=TIMEOUT)
    assert measured.status == case.status, measured
    assert case.text in measured.text, measured
    assert measured.peak_mib <= BOUND_MIB, f"{measured.peak_mib:.0f} MiB (bound {BOUND_MIB}): {measured}"
    at_limit = measured.peak_mib * scale
    assert at_limit <= BOUND_MIB, f"{at_limit:.0f} MiB at the real limit (bound {BOUND_MIB}): {measured}"


def test_the_measure_sees_memory_the_request_makes_resident(tmp_path):
    """The measure itself: 200 MiB touched in the child are seen, and nothing is seen otherwise."""

    def touch(size):
        block = bytearray(size)
        for i in range(0, size, 4096):
            block[i] = 1
        return 200, str(len(block))

    big = run_forked(lambda: None, lambda _: touch(200 << 20), timeout=TIMEOUT)
    small = run_forked(lambda: None, lambda _: touch(1 << 20), timeout=TIMEOUT)
    assert big.status == 200 and 195 <= big.peak_mib <= 230, big
    assert small.peak_mib < 20, small
