"""The suite digest: what it holds, and that a comparison finds every difference."""

from __future__ import annotations

import json
import math

from gans.digest import _exact, cmd_check_digest, compare_digests

BASE = {"digest_version": 1, "suite": "s",
        "runs": {"fm/gan/seed0": {"networks_sha256": "aa", "samples_sha256": "bb", "step": 10}},
        "metrics": {"fm/classifier/gan/seed0": {"status": "completed",
                                                "metrics": {"fid": "12.5", "kid_mean": "0.1"}}}}


def changed(path: list[str], value) -> dict:
    copy = json.loads(json.dumps(BASE))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def test_identical_digests_have_no_differences():
    assert compare_digests(BASE, json.loads(json.dumps(BASE))) == []


def test_a_changed_last_digit_or_hash_is_reported_where_it_is():
    diff = compare_digests(BASE, changed(["metrics", "fm/classifier/gan/seed0", "metrics", "fid"], "12.500000000000002"))
    assert diff == ["/metrics/fm/classifier/gan/seed0/metrics/fid: expected '12.5', got '12.500000000000002'"]
    diff = compare_digests(BASE, changed(["runs", "fm/gan/seed0", "networks_sha256"], "ab"))
    assert len(diff) == 1 and "networks_sha256" in diff[0]


def test_missing_and_extra_entries_are_reported():
    fewer = changed(["runs"], {})
    assert compare_digests(BASE, fewer) == ["/runs/fm/gan/seed0: only in the expected digest"]
    assert compare_digests(fewer, BASE) == ["/runs/fm/gan/seed0: only in the new digest"]


def test_metric_values_are_kept_to_the_last_bit():
    value = 0.1 + 0.2
    assert float(_exact(value)) == value and _exact(value) == "0.30000000000000004"
    assert _exact(math.nan) == "nan" and _exact(3) == 3


def test_check_digest_exit_code(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(BASE))
    b.write_text(json.dumps(changed(["runs", "fm/gan/seed0", "step"], 11)))

    class Args:
        expected, actual = str(a), str(a)
    assert cmd_check_digest(Args) == 0
    Args.actual = str(b)
    assert cmd_check_digest(Args) == 1
    assert "step: expected 10, got 11" in capsys.readouterr().out
