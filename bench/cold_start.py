"""Cold start: import time of functions/app.py against a bare `import boto3`, in the same run.

Also: the api function's first webhook after import (bench/first_request_probe.py), since
app.py defers each function's own modules to its first call.

    python bench/cold_start.py [--runs N]

Each sample is a fresh interpreter (as a Lambda cold start is), alternating the two imports so
machine noise hits both alike. Prints the median and best of each and their ratio (goal <= 1.5x).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"
PROBE = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def sample(module: str) -> float:
    output = subprocess.run(  # noqa: S603 - our own interpreter and a fixed probe
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=FUNCTIONS,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1"},
    ).stdout
    return float(output)


def first_request() -> tuple[float, float]:
    probe = Path(__file__).resolve().parent / "first_request_probe.py"
    output = subprocess.run(  # noqa: S603
        [sys.executable, str(probe)],
        cwd=FUNCTIONS,
        capture_output=True,
        text=True,
        check=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        },
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return figures["import"], figures["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    sample("app")  # compile .pyc-less imports once so disk cache is warm for both
    boto3_times, app_times = [], []
    for _ in range(runs):
        boto3_times.append(sample("boto3"))
        app_times.append(sample("app"))
    b, a = statistics.median(boto3_times), statistics.median(app_times)
    print(f"import boto3   median {b * 1000:7.1f} ms  best {min(boto3_times) * 1000:7.1f} ms  ({runs} runs)")
    print(f"import app     median {a * 1000:7.1f} ms  best {min(app_times) * 1000:7.1f} ms")
    firsts = [first_request() for _ in range(max(3, runs // 3))]
    total = statistics.median(f[1] for f in firsts)
    print(
        f"api cold path (import app + first webhook, no AWS calls): median {total * 1000:.1f} ms"
        f"  = {total / b:.2f}x import boto3"
    )
    print(
        f"ratio app/boto3: median {a / b:.2f}x  best {min(app_times) / min(boto3_times):.2f}x  (goal <= 1.5x)"
    )


if __name__ == "__main__":
    main()
