import re

import numpy as np
import pytest

from lab.core.io import points_csv
from lab.core.io.points_csv import load_points, read_points, save_points
from lab.core.io.reading import FileFormatError

TRICKY = [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, -2.5e-310, 123456789.123456789]


def test_points_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    xy = np.concatenate([rng.normal(size=(50, 2)) * 1e3, np.array(TRICKY).reshape(-1, 1) * [1, -1]])
    labels = rng.integers(0, 4, len(xy))
    path = tmp_path / "points.csv"
    save_points(path, xy, labels)
    loaded_xy, loaded_labels = load_points(path)
    assert loaded_xy.dtype == np.float64 and loaded_labels.dtype == np.int64
    assert loaded_xy.tobytes() == xy.tobytes()  # bit-exact, including -0.0
    np.testing.assert_array_equal(loaded_labels, labels)
    assert path.read_text().splitlines()[0] == "x,y,label"


def test_points_with_zero_rows_round_trip(tmp_path):
    path = tmp_path / "empty.csv"
    save_points(path, np.empty((0, 2)), np.empty(0, dtype=np.int64))
    xy, labels = load_points(path)
    assert xy.shape == (0, 2) and labels.shape == (0,)


def test_points_loader_tolerates_whitespace_crlf_blank_lines_and_bom(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes(b"\xef\xbb\xbf X , Y ,Label \r\n 1.5 , -2 , 3 \r\n\r\n2e3,0,0\r\n\r\n\n  \n")
    xy, labels = load_points(path)
    np.testing.assert_array_equal(xy, [[1.5, -2.0], [2000.0, 0.0]])
    np.testing.assert_array_equal(labels, [3, 0])


def test_loaded_points_are_writable_arrays(tmp_path):
    path = tmp_path / "p.csv"
    save_points(path, [[1.0, 2.0]], [1])
    xy, labels = load_points(path)
    xy[0, 0] = 5.0
    labels[0] = 2


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"a,b,c\n1.0,2.0,0\n", "line 1: expected the header 'x,y,label' or three numbers"),
        (b"x,y\n1,2\n", "line 1: expected the header 'x,y,label' or three values"),
        (b"\n\n1,5;2,5;0\n", "line 3: cannot tell whether ',' or ';' separates the values"),
        (b"x,y,label\n1_0,2,0\n", "line 2: '1_0' is not a number"),
        (b"x,y,label\n1,2,1_0\n", "line 2: label '1_0' is not a whole number"),
        ("x,y,label\n\u0661,2,0\n".encode(), "line 2: '\u0661' is not a number"),
        ("x,y,label\n1,2,\u0661\n".encode(), "line 2: label '\u0661' is not a whole number"),
        (b"x,y,label\n1,2,1e400\n", "line 2: label '1e400' is not a whole number"),
        (b"x;y;label\n1;2;0\n1,2,0\n", "line 3.*3 values"),
        (b"x,y,label,extra\n", "line 1.*header"),
        (b"x,y,label\n1.0,2.0\n", "line 2.*3 values"),
        (b"x,y,label\n1.0,2.0,0\n1.0,2.0,0,0\n", "line 3.*3 values"),
        (b"x,y,label\n1,2,0\n\n\n\nabc,2,0\n", "line 6: 'abc' is not a number"),
        (b"x,y,label\n1,,0\n", "line 2: '' is not a number"),
        (b"x,y,label\n1,nan,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,-inf,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,1e400,0\n", "line 2.*not a finite"),
        (b"x,y,label\n1,2,1.5\n", "line 2: label '1.5' is not a whole number"),
        (b"x,y,label\n1,2,one\n", "line 2.*not a whole number"),
        (b"x,y,label\n1,2,4\n", "line 2: label 4 is outside 0..3"),
        (b"x,y,label\n1,2,-1\n", "line 2: label -1 is outside"),
        (b"x,y,label\n1,\xff,0\n", "not UTF-8"),
        (b"\xfe\xff\x00x\x00,\x00y", "not UTF-8"),  # UTF-16 is not accepted
    ],
)
def test_malformed_points_file_names_file_and_problem(tmp_path, content, expected):
    path = tmp_path / "bad points.csv"
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=expected) as info:
        load_points(path)
    assert str(info.value).startswith("bad points.csv")


def test_points_written_by_numpy_savetxt_load(tmp_path):
    """The common way to write points from a script: float labels, with or without a header."""
    xy = np.array([[0.5, -1.25], [1e-3, 7.0], [-2.0, 0.0]])
    labels = np.array([1, 0, 3])
    for header in ("x,y,label", ""):
        path = tmp_path / "numpy.csv"
        np.savetxt(path, np.c_[xy, labels], delimiter=",", header=header, comments="")
        loaded_xy, loaded_labels = load_points(path)
        np.testing.assert_array_equal(loaded_xy, xy)
        np.testing.assert_array_equal(loaded_labels, labels)
        assert loaded_labels.dtype == np.int64


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_semicolons_or_tabs_between_the_values(tmp_path, delimiter):
    path = tmp_path / "spreadsheet.csv"
    rows = ["x;y;label", "1.5;2;0", "", "-3;4e1;2.0"]
    path.write_text("\r\n".join(row.replace(";", delimiter) for row in rows))
    xy, labels = load_points(path)
    np.testing.assert_array_equal(xy, [[1.5, 2.0], [-3.0, 40.0]])
    np.testing.assert_array_equal(labels, [0, 2])


def test_old_mac_line_ends(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"x,y,label\r1,2,0\r3,4,1\r")
    assert load_points(path)[1].tolist() == [0, 1]


def test_a_bad_line_deep_in_a_big_file_is_named(tmp_path):
    path = tmp_path / "big.csv"
    lines = ["x,y,label"] + [f"{i * 0.001!r},{-i * 0.002!r},{i % 4}" for i in range(150_000)]
    lines[123_457] = "1.0,oops,0"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match=r"big\.csv, line 123458: 'oops' is not a number"):
        load_points(path)
    lines[123_457] = "1.0,2.0,0"
    path.write_text("\n".join(lines) + "\n")
    xy, labels = load_points(path)
    assert len(labels) == 150_000 and xy[-1, 1] == -149_999 * 0.002


def test_points_file_over_size_limit_rejected_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(points_csv, "MAX_POINTS_FILE_BYTES", 1000)
    path = tmp_path / "huge.csv"
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 200)
    with pytest.raises(FileFormatError, match=r"huge\.csv.*larger"):
        load_points(path)


def test_points_file_over_row_limit_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr(points_csv, "MAX_POINTS", 10)
    path = tmp_path / "many.csv"
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 10)
    assert len(load_points(path)[1]) == 10
    path.write_bytes(b"x,y,label\n" + b"0,0,0\n" * 11)
    with pytest.raises(FileFormatError, match=r"many\.csv.*more than 10 points"):
        load_points(path)


def test_save_points_rejects_invalid_data_without_touching_file(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        save_points(path, [[0.0, np.nan]], [0])
    with pytest.raises(ValueError):
        save_points(path, [[0.0, 0.0]], [9])
    assert path.read_bytes() == b"old"


def test_missing_points_file_is_an_os_error_not_a_format_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_points(tmp_path / "absent.csv")


def test_a_regressions_values_round_trip_exactly_under_their_own_header(tmp_path):
    xy = np.array([[0.0, 1.0], [2.5, -1.0], [1e-300, 3.0]])
    values = np.array(TRICKY[:3])
    path = tmp_path / "values.csv"
    save_points(path, xy, np.zeros(3, dtype=np.int64), values)
    assert path.read_text().splitlines()[0] == "x,y,value"
    loaded = read_points(path)
    assert loaded.values.tobytes() == values.tobytes() and loaded.xy.tobytes() == xy.tobytes()
    assert read_points(tmp_path / "values.csv").labels.tolist() == [0, 0, 0]
    with pytest.raises(FileFormatError, match="holds values"):
        load_points(path)  # where classes are expected


def test_a_classes_file_reads_without_values(tmp_path):
    path = tmp_path / "classes.csv"
    save_points(path, np.zeros((2, 2)), np.array([0, 1]))
    assert read_points(path).values is None


@pytest.mark.parametrize(("text", "message"), [
    ("x,y,value\n1,2,nan\n", "line 2: 'nan' is not a finite number"),
    ("x,y,value\n1,2,3\n1,2\n", "line 3: expected 3 values (x,y,value), found 2"),
    ("x,y,value\n1,2,high\n", "line 2: 'high' is not a number"),
])
def test_bad_values_are_named_with_their_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=re.escape(message)):
        read_points(path)
