import errno
import os
import stat
from pathlib import Path

import pytest

from lab.core.io.atomic import atomic_write


def leftovers(folder: Path, keep: str) -> list[str]:
    """Files other than ``keep``: a failed or finished save must leave no temp file behind."""
    return sorted(p.name for p in folder.iterdir() if p.name != keep)


def test_atomic_write_writes_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.bin"
    atomic_write(target, lambda f: f.write(b"hello"))
    assert target.read_bytes() == b"hello"
    assert leftovers(tmp_path, "out.bin") == []


def test_atomic_write_failing_writer_keeps_old_file(tmp_path):
    target = tmp_path / "keep.csv"
    target.write_bytes(b"old content")

    def broken(f):
        f.write(b"half of the new")
        raise RuntimeError("writer broke")

    with pytest.raises(OSError, match=r"keep\.csv") as info:
        atomic_write(target, broken)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.csv") == []


def test_atomic_write_disk_full_during_write_keeps_old_file(tmp_path):
    target = tmp_path / "keep.npz"
    target.write_bytes(b"old content")

    def disk_full(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError, match=r"keep\.npz") as info:
        atomic_write(target, disk_full)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.npz") == []


def test_atomic_write_failing_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "keep.json"
    target.write_bytes(b"old content")

    def no_space(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(OSError, match=r"keep\.json") as info:
        atomic_write(target, lambda f: f.write(b"new content"))
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old content"
    assert leftovers(tmp_path, "keep.json") == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores directory permissions"
)
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_read_only_folder_keeps_old_file(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "keep.csv"
    target.write_bytes(b"old content")
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OSError, match=r"keep\.csv"):
            atomic_write(target, lambda f: f.write(b"new content"))
        assert target.read_bytes() == b"old content"
    finally:
        folder.chmod(stat.S_IRWXU)
    assert leftovers(folder, "keep.csv") == []


def test_atomic_write_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"new\.csv"):
        atomic_write(tmp_path / "nowhere" / "new.csv", lambda f: f.write(b"x"))


def test_atomic_write_interrupt_passes_through_and_cleans_up(tmp_path):
    def interrupted(f):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_keeps_permissions_of_replaced_file(tmp_path):
    target = tmp_path / "shared.csv"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, lambda f: f.write(b"new"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_atomic_write_new_file_follows_umask(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "new.csv"
    atomic_write(target, lambda f: f.write(b"x"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("failing", ["open", "fsync"])
def test_a_folder_that_cannot_be_synced_does_not_fail_the_save(tmp_path, monkeypatch, failing):
    """Windows cannot open a folder, and some file systems cannot fsync one: the file is
    written and in place all the same."""
    target = tmp_path / "w.npz"
    real = getattr(os, failing)

    def refuse_folders(target, *args, **kwargs):
        # open gets a path; fsync a descriptor, whose target Linux shows under /proc.
        where = target if failing == "open" else f"/proc/self/fd/{target}"
        if os.path.isdir(where):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, failing, refuse_folders)
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"
    assert leftovers(tmp_path, "w.npz") == []
