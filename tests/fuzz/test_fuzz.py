"""CI's sample of the hostile-input suite: every generated case ends in success or the one-line error, with
no traceback, hang, memory blow-up, leftover output or executed pickle (the full run: docs/fuzzing.md)."""

from __future__ import annotations

from collections import Counter

from fuzz.generate import FAMILIES
from fuzz.run_fuzz import run

SAMPLE_SEED = 20261125
SAMPLE_CASES = 500


def test_fuzz_sample(tmp_path):
    outcomes = run(SAMPLE_SEED, SAMPLE_CASES, jobs=2, root=tmp_path)
    broken = [o for o in outcomes if o.verdict != "ok"]
    report = "\n".join(f"{o.verdict} {o.id} {o.kind}: {' '.join(o.argv)[:100]} -> {o.stderr.strip()[-300:]}"
                       for o in broken)
    assert not broken, report
    kinds = Counter(o.kind.split("-")[0] for o in outcomes)
    assert len(kinds) >= 7, kinds  # every input kind was exercised
    assert sum(o.code == 2 for o in outcomes) > 0.8 * len(outcomes)
    assert max(o.peak_bytes for o in outcomes) < 1 << 30


def test_every_family_is_in_the_mix():
    assert len(FAMILIES) >= 10
