"""Installed as users install it: from a built wheel (not editable), and into the desktop."""

import configparser
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from lab.desktop import install_desktop

ROOT = Path(__file__).resolve().parents[2]

# Run from an installed copy: the icon must load, and it must not come from the checkout.
CHECK = textwrap.dedent(
    """
    import sys
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import lab
    from lab.app import open_window
    assert "site" in lab.__file__ or "installed" in lab.__file__, lab.__file__
    window = open_window()
    image = window.windowIcon().pixmap(32, 32).toImage()
    drawn = any(image.pixelColor(x, y).alpha() for x in range(32) for y in range(32))
    print("ICON", not image.isNull(), drawn)
    window.close()
    """
)


def test_a_wheel_holds_the_assets_and_the_installed_app_shows_its_icon(tmp_path):
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)],
        check=True, env=env, capture_output=True, timeout=300,
    )
    (wheel,) = (tmp_path / "dist").glob("training_lab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "lab/assets/icon.svg" in names and "lab/assets/training-lab.desktop" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)
    installed = tmp_path / "installed"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(installed),
         str(wheel)],
        check=True, env=env, capture_output=True, timeout=300,
    )
    home = tmp_path / "home"
    home.mkdir()
    run_env = dict(env, PYTHONPATH=str(installed), QT_QPA_PLATFORM="offscreen", HOME=str(home),
                   PYTHONSAFEPATH="1")
    result = subprocess.run([sys.executable, "-c", CHECK], cwd=tmp_path, env=run_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ICON True True" in result.stdout
    assert "Cannot open file" not in result.stderr


def test_install_desktop_writes_the_entry_icon_and_file_type(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    written = install_desktop(python="/opt/python 3/bin/python")
    entry_path = tmp_path / "applications" / "training-lab.desktop"
    assert entry_path in written
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(entry_path)
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"] == "'/opt/python 3/bin/python' -m lab %f"
    assert desktop["Icon"] == "training-lab"
    assert "application/x-training-lab-workspace" in desktop["MimeType"]
    assert (tmp_path / "icons/hicolor/scalable/apps/training-lab.svg").read_text().startswith("<")
    assert "*.tlab" in (tmp_path / "mime/packages/training-lab.xml").read_text()


def test_lab_install_desktop_from_the_command_line(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "lab", "--install-desktop"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "training-lab.desktop" in result.stdout
    assert (tmp_path / "applications" / "training-lab.desktop").exists()
