"""A stand-in for the engine build: prints cmake-style progress, sleeps, and ends as told.

    python standin_build.py [--steps 10] [--delay 0.05] [--hold-at 45 --until FILE]
        [--exit 0] [--install DIR --engine NAME --bundled NAME] [--runs FILE]

``--hold-at P --until FILE``: after printing P%, wait for FILE to exist (the test decides
when the build goes on). ``--install``: at the end, create the packages the embedded
provider looks for (an engine package and a bundled-model package holding the GGUF's file
name) in DIR, as pip would in site-packages. ``--runs``: append a line per run (tests count
how many builds really started).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--hold-at", type=int, default=None)
    parser.add_argument("--until", type=Path, default=None)
    parser.add_argument("--exit", type=int, default=0)
    parser.add_argument("--install", type=Path, default=None)
    parser.add_argument("--engine", default=None)
    parser.add_argument("--bundled", default=None)
    parser.add_argument("--runs", type=Path, default=None)
    args = parser.parse_args()

    if args.runs is not None:
        with args.runs.open("a") as f:
            f.write("run\n")
    print("Collecting llama-cpp-python==0.3.36", flush=True)
    print("*** Configuring CMake...", flush=True)
    for step in range(1, args.steps + 1):
        percent = 100 * step // args.steps
        print(f"[{percent:3d}%] Building CXX object vendor/llama.cpp/src/unit{step}.cpp.o",
              flush=True)
        time.sleep(args.delay)
        if args.hold_at is not None and percent >= args.hold_at and args.until is not None:
            while not args.until.exists():
                time.sleep(0.02)
            args.hold_at = None
    if args.exit != 0:
        print("ninja: build stopped: subcommand failed.", flush=True)
        print("error: subprocess-exited-with-error", flush=True)
        print("ERROR: Failed building wheel for llama-cpp-python", flush=True)
        return args.exit
    if args.install is not None:
        engine = args.install / args.engine
        bundled = args.install / args.bundled
        engine.mkdir(parents=True)
        (engine / "__init__.py").write_text("")
        bundled.mkdir(parents=True)
        (bundled / "__init__.py").write_text("")
        (bundled / GGUF).write_bytes(b"GGUF")
    print("Installing collected packages: llama-cpp-python", flush=True)
    print("Successfully installed llama-cpp-python-0.3.36", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
