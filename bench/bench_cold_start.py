"""How long importing the Lambda handler module takes (budget: 300 ms), in fresh interpreters.

python bench/bench_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "chalice_app"
CODE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    times = [
        float(subprocess.run([sys.executable, "-c", CODE], cwd=APP, check=True, capture_output=True, text=True).stdout)
        for _ in range(runs)
    ]
    print(
        f"import app: median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
        f"over {runs} runs (budget 300 ms)"
    )


if __name__ == "__main__":
    main()
