"""`lab --install-desktop`: the app in the desktop's menus, with its icon, opening .tlab files.

Writes the freedesktop.org files under the user's data folder ($XDG_DATA_HOME, by default
~/.local/share): the .desktop entry, the icon and the .tlab file type. Qt-free.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from lab import ASSETS

NAME = "training-lab"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def install_desktop(python: str = sys.executable) -> list[Path]:
    """Write the entry, icon and file type; returns the files written.

    The entry starts this Python with `-m lab`, so it works whatever the PATH of the menu.
    """
    home = data_home()
    entry = (ASSETS / f"{NAME}.desktop").read_text(encoding="utf-8")
    command = f"{shlex.quote(python)} -m lab %f"
    entry = "\n".join(
        f"Exec={command}" if line.startswith("Exec=") else line for line in entry.splitlines()
    )
    written = {
        home / "applications" / f"{NAME}.desktop": entry + "\n",
        home / "icons" / "hicolor" / "scalable" / "apps" / f"{NAME}.svg":
            (ASSETS / "icon.svg").read_text(encoding="utf-8"),
        home / "mime" / "packages" / f"{NAME}.xml":
            (ASSETS / f"{NAME}-mime.xml").read_text(encoding="utf-8"),
    }
    for path, text in written.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _refresh(["update-mime-database", str(home / "mime")])
    _refresh(["update-desktop-database", str(home / "applications")])
    return list(written)


def _refresh(command: list[str]) -> None:
    """Let the desktop know at once, where its tools are installed (they need not be)."""
    if shutil.which(command[0]):
        subprocess.run(command, check=False, capture_output=True, timeout=60)
