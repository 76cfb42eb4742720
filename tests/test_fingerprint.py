"""``dev/fingerprint.py``: the hash sees every number, and nothing but the results."""

import importlib.util
import math
from pathlib import Path

_SPEC = importlib.util.spec_from_file_location(
    "fingerprint", Path(__file__).resolve().parents[1] / "dev" / "fingerprint.py"
)
fp = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fp)


class _Result:
    def __init__(self, content):
        self.content = content

    def to_dict(self):
        return self.content


def _content(value=0.1 + 0.2):
    return {
        "experiment": "x",
        "summary": [{"statistic": "s", "mean": value, "low": math.nan}],
        "provenance": {"git_commit": "abc", "cpu_model": "any"},
    }


def test_provenance_is_left_out_and_key_order_does_not_matter():
    a = fp.canonical(_Result(_content()))
    other = _content()
    other["provenance"] = {"git_commit": "def", "cpu_model": "other"}
    b = fp.canonical(_Result(dict(reversed(list(other.items())))))
    assert "provenance" not in a
    assert fp.digest(a) == fp.digest(b)


def test_the_last_bit_of_a_float_changes_the_hash_and_is_located():
    a = fp.canonical(_Result(_content(0.30000000000000004)))
    b = fp.canonical(_Result(_content(math.nextafter(0.30000000000000004, 1.0))))
    assert fp.digest(a) != fp.digest(b)
    assert fp.first_differences(a, b) == [
        f"/summary[0]/mean: {a['summary'][0]['mean']} != {b['summary'][0]['mean']}"
    ]


def test_nan_equals_nan_but_absent_keys_and_lengths_differ():
    a = fp.canonical(_Result(_content()))
    assert fp.first_differences(a, fp.canonical(_Result(_content()))) == []
    b = fp.canonical(_Result(_content()))
    b["summary"].append({})
    del b["experiment"]
    found = fp.first_differences(a, b)
    assert any(f.startswith("/experiment: x != <absent>") for f in found)
    assert any(f.startswith("/summary:") for f in found)
