"""The prompts a person sent, kept across restarts for recall with Up/Down (like a shell).

One small JSON file in the data dir, ``prompts.json``: the last :data:`LIMIT` prompts, oldest
first, each kept once (sending a prompt again moves it to the newest place). Writing is
atomic (a temp file in the same directory, fsynced, then ``os.replace``), so a crash leaves
the old file or the new one, never half of either. A missing, unreadable or corrupt file is
an empty history: recall is a convenience and must never stop Loco from starting. Errors
while saving are kept in :attr:`PromptHistory.error` for the UI to mention, never raised.

Two Loco windows share the file: :meth:`PromptHistory.save` merges what is on disk with the
prompts this process added, so neither window erases the other's prompts.

:class:`Recall` is the walk through the history that Up and Down make, with the text being
typed kept aside until the walk returns past the newest entry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from loco_tui.files import write_atomic

__all__ = ["FILE_NAME", "LIMIT", "MAX_PROMPT_CHARS", "PromptHistory", "Recall", "default_path"]

FILE_NAME = "prompts.json"
LIMIT = 500
# A prompt longer than this (a pasted log file) is not kept for recall: the file stays
# small, and the session store holds every prompt in full anyway.
MAX_PROMPT_CHARS = 64 * 1024
_FORMAT = 1
# A file larger than the largest history we write (every prompt escaped to six bytes per
# character in the worst case) is not ours: it is not read into memory.
_MAX_FILE_BYTES = LIMIT * MAX_PROMPT_CHARS * 6 + 4096


def default_path() -> Path:
    """``data_dir()/prompts.json`` (``$LOCO_HOME`` if set, else the user data dir)."""
    from loco_tui.registry.discover import data_dir

    return data_dir() / FILE_NAME


def _dedupe_newest(prompts: Iterable[str], limit: int) -> list[str]:
    """Oldest first, each prompt once at the place of its newest use, the last ``limit``."""
    seen: set[str] = set()
    newest_first: list[str] = []
    for prompt in reversed(list(prompts)):
        if prompt not in seen:
            seen.add(prompt)
            newest_first.append(prompt)
            if len(newest_first) == limit:
                break
    newest_first.reverse()
    return newest_first


def _keepable(prompt: str) -> bool:
    return bool(prompt.strip()) and len(prompt) <= MAX_PROMPT_CHARS


def read_prompts(path: Path) -> list[str]:
    """The prompts stored in ``path``; an empty list when it is missing or not ours."""
    try:
        with path.open("rb") as source:
            raw = source.read(_MAX_FILE_BYTES + 1)
    except OSError:
        return []
    if len(raw) > _MAX_FILE_BYTES:
        return []
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return []
    prompts = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(prompts, list):
        return []
    return [p for p in prompts if isinstance(p, str) and _keepable(p)]


def write_prompts(path: Path, prompts: Sequence[str]) -> None:
    """Replace ``path`` atomically with ``prompts``. Raises OSError."""
    # ensure_ascii: a lone surrogate (pasted from a broken source) stays writable.
    body = json.dumps({"version": _FORMAT, "prompts": list(prompts)}, indent=0)
    # The file is created readable by its owner only (mkstemp): prompts can hold secrets.
    write_atomic(path, body)


class PromptHistory:
    """The prompt list behind recall. ``load()`` never raises; ``add()`` changes memory
    only (cheap, for the UI thread); ``save()`` writes (from a worker thread if you like:
    it holds a lock, and concurrent saves from one process never lose a prompt)."""

    def __init__(self, path: Path | None, prompts: Iterable[str] = (), *,
                 limit: int = LIMIT) -> None:
        self.path = path
        self.limit = limit
        self.error: str | None = None
        self._prompts = _dedupe_newest((p for p in prompts if _keepable(p)), limit)
        # Added since the last save: what a merge with the file must not drop.
        self._unsaved: list[str] = []
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path | None = None, *, limit: int = LIMIT) -> PromptHistory:
        """The history in ``path`` (default :func:`default_path`). Without a usable data
        dir the history lives in memory only, and :attr:`error` says why."""
        error = None
        if path is None:
            try:
                path = default_path()
            except OSError as exc:
                error = f"prompt history not saved: no data dir ({exc.strerror or exc})"
        history = cls(path, read_prompts(path) if path is not None else (), limit=limit)
        history.error = error
        return history

    @property
    def prompts(self) -> tuple[str, ...]:
        """Oldest first."""
        return tuple(self._prompts)

    def __len__(self) -> int:
        return len(self._prompts)

    def add(self, prompt: str) -> bool:
        """Remember ``prompt`` as the newest entry; False when it is not kept (blank, or
        longer than :data:`MAX_PROMPT_CHARS`)."""
        if not _keepable(prompt):
            return False
        with self._lock:
            self._prompts = _dedupe_newest([*self._prompts, prompt], self.limit)
            self._unsaved.append(prompt)
        return True

    def save(self) -> bool:
        """Write the file: what is on disk now (another window's prompts) merged with what
        was added here. False (and :attr:`error` set) when it could not be written."""
        if self.path is None:
            return False
        with self._lock:
            merged = _dedupe_newest([*read_prompts(self.path), *self._unsaved], self.limit)
            try:
                write_prompts(self.path, merged)
            except OSError as exc:
                self.error = f"prompt history not saved to {self.path}: {exc.strerror or exc}"
                return False
            self.error = None
            self._unsaved.clear()
            self._prompts = merged
        return True


class Recall:
    """A walk through earlier prompts, as Up and Down make it in a shell.

    ``older(text)`` steps back and returns the entry to show (None at the oldest);
    ``newer(text)`` steps forward, and past the newest returns the draft: the text that was
    being typed when the walk began. Edits made to an entry during the walk are kept while
    the walk lasts (the editor starts a new walk after each send), so stepping away and
    back does not lose them.
    """

    def __init__(self, prompts: Sequence[str]) -> None:
        self._entries = list(prompts)
        # len(entries) is the draft's place, below the newest entry.
        self._index = len(self._entries)
        self._edits: dict[int, str] = {}

    @property
    def active(self) -> bool:
        """Whether an earlier prompt is being shown (the walk has left the draft)."""
        return self._index < len(self._entries)

    def _shown(self, index: int) -> str:
        return self._edits.get(index, self._entries[index] if index < len(self._entries) else "")

    def _step(self, current: str, to: int) -> str:
        self._edits[self._index] = current
        self._index = to
        return self._shown(to)

    def older(self, current: str) -> str | None:
        if self._index == 0:
            return None
        return self._step(current, self._index - 1)

    def newer(self, current: str) -> str | None:
        if self._index >= len(self._entries):
            return None
        return self._step(current, self._index + 1)
