"""What the workbench remembers between runs: the theme and whether the sidebar is shown.

Kept in ``<data dir>/preferences.toml``, machine-written. A missing or broken file means
the defaults (and is said in ``warning``), never a failure to start.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w

from loco_tui.files import write_atomic

FILE_NAME = "preferences.toml"


@dataclass
class Preferences:
    theme: str | None = None
    sidebar: bool = True
    # Why the file was not used (unreadable, malformed), for the trace.
    warning: str | None = None

    @classmethod
    def load(cls, data_dir: Path) -> Preferences:
        path = data_dir / FILE_NAME
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
            return cls(warning=f"{path}: ignored ({type(exc).__name__})")
        theme = data.get("theme")
        sidebar = data.get("sidebar", True)
        return cls(theme=theme if isinstance(theme, str) else None,
                   sidebar=sidebar if isinstance(sidebar, bool) else True)

    def save(self, data_dir: Path) -> None:
        values = {k: v for k, v in asdict(self).items() if v is not None and k != "warning"}
        write_atomic(data_dir / FILE_NAME, "# Loco's remembered choices. Safe to delete.\n"
                     + tomli_w.dumps(values))
