"""What the workbench benches share: the two workloads, the four-member ensemble, percentiles,
/proc readers and a throwaway data directory.

Workloads (the same token count for both, so per-token figures compare):
- ``plain``: word tokens of prose with a paragraph break every 60 tokens (the benches'
  workload before the panes rendered Markdown);
- ``markdown``: bench_markdown's Markdown-heavy reply (headings, emphasis, links, nested
  lists, tables, long fenced Python blocks, block quotes) cut into 1-7 character tokens.
Each member gets its own seed, so the four panes never hold the same text.
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_markdown import markdown_reply, tokens_of  # noqa: E402

Workload = Literal["plain", "markdown"]
WORKLOADS: tuple[Workload, ...] = ("plain", "markdown")

# The prose of the plain workload: what the TUI bench streamed before panes rendered Markdown.
WORDS = ("the model keeps writing plain prose about nothing in particular while four panes "
         "stream at once and the user types a prompt without waiting for them to finish def "
         "return value list dict for in if else").split()


def plain_pieces(n: int, seed: int) -> tuple[str, ...]:
    """``n`` word tokens (a space before each), a paragraph break every 60 tokens."""
    rng = random.Random(seed)
    return tuple(("\n\n" if i and i % 60 == 0 else " ") + rng.choice(WORDS) for i in range(n))


def markdown_pieces(n: int, seed: int) -> tuple[str, ...]:
    """The first ``n`` tokens of a Markdown-heavy reply (~4 characters a token)."""
    chars = 5 * n
    while True:
        tokens = tokens_of(markdown_reply(chars, seed=seed), seed=seed + 1)
        if len(tokens) >= n:
            return tuple(tokens[:n])
        chars *= 2


PIECES: dict[Workload, Callable[[int, int], tuple[str, ...]]] = {
    "plain": plain_pieces, "markdown": markdown_pieces}


def quad_registry(host: str, models: Sequence[str]) -> str:
    """A registry: one Ollama provider at ``host`` and an ensemble of ``models``, no judge."""
    return (
        f'[providers.local]\nkind = "ollama"\nhost = "{host}"\n\n'
        + "".join(f'[models.{m}]\nprovider = "local"\nmodel = "{m}"\n\n' for m in models)
        + "[ensembles.quad]\nmembers = ["
        + ", ".join(f'{{ model = "{m}" }}' for m in models)
        + "]\njudge = false\n"
    )


# -- figures ---------------------------------------------------------------------------------

def pct(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_line() -> str:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} CPUs, load average {load} (1, 5, 15 min)"


# -- /proc -----------------------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def proc_status_kb(field: str, pid: int | str = "self") -> int:
    """A ``kB`` figure of /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


# -- a throwaway Loco home -------------------------------------------------------------------

@contextlib.contextmanager
def temp_loco_home(prefix: str = "loco-bench-") -> Iterator[Path]:
    """Point LOCO_HOME and the XDG dirs of this process at a temp dir for the block: the
    store, the prompt history and the preferences land there, never in the user's."""
    names = ("LOCO_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "LOCO_CONFIG")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        root = Path(tmp)
        os.environ.update(LOCO_HOME=str(root / "home"), XDG_CONFIG_HOME=str(root / "config"),
                          XDG_DATA_HOME=str(root / "data"))
        os.environ.pop("LOCO_CONFIG", None)
        try:
            yield root
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
