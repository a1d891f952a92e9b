"""metrics.jsonl: a bad line loses no other row, on reading and on resume."""

import json
import warnings

import pytest
from jaxnas.apps._metrics import MetricWriter, read_metrics


def _write(path, lines):
    path.write_text("".join(lines))


def _rows(*steps):
    return [json.dumps({"step": s, "loss": s / 10}) + "\n" for s in steps]


def test_bad_lines_in_the_middle_are_skipped_and_named(tmp_path):
    _write(tmp_path / "metrics.jsonl",
           _rows(1, 2) + ['{"step": 3, "lo\n', "\n"] + _rows(4) + ["[1, 2]\n", '{"loss": 1}\n'] + _rows(5))
    with pytest.warns(RuntimeWarning) as record:
        rows = read_metrics(str(tmp_path))
    assert [r["step"] for r in rows] == [1, 2, 4, 5]
    (message,) = [str(w.message) for w in record]
    assert str(tmp_path / "metrics.jsonl") in message
    assert "skipped 4 unreadable line(s) (line 3, 4, 6, 7)" in message and "kept the other 4 rows" in message


def test_a_torn_last_line_is_dropped_quietly(tmp_path):
    _write(tmp_path / "metrics.jsonl", _rows(1, 2) + ['{"step": 3, "lo'])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [r["step"] for r in read_metrics(str(tmp_path))] == [1, 2]
    _write(tmp_path / "metrics.jsonl", _rows(1, 2) + ['{"step": 3, "lo\n'])  # complete line: not a kill
    with pytest.warns(RuntimeWarning, match=r"line 3\)"):
        read_metrics(str(tmp_path))


def test_resume_keeps_the_rows_after_a_bad_line(tmp_path):
    _write(tmp_path / "metrics.jsonl", _rows(2, 4) + ["\x00\x00garbage\n"] + _rows(6, 8, 10))
    with pytest.warns(RuntimeWarning, match="line 3"):
        writer = MetricWriter(str(tmp_path), resume_step=8, tensorboard=False)
    writer.write(10, {"loss": 1.0})
    writer.close()
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [2, 4, 6, 8, 10]
