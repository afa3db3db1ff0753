"""Benchmark of quality.metrics and quality.aggregation against krippendorff and crowd-kit.

Run from the repository root:  .venv/bin/python bench/bench_quality.py
crowd-kit is not an app dependency: it lives in its own venv (bench/requirements-crowdkit.txt).
When it cannot be imported here, the crowd-kit part runs in /work/main/.venv-bench (or
$SKEIN_BENCH_PYTHON) as a subprocess on the same data; without either it is reported missing.
Times are wall-clock, best of --repeat runs; peak memory is tracemalloc's peak of the
allocations made during one separate call (numpy and pandas report their buffers to it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from quality import aggregation, metrics  # noqa: E402 - needs the path set above
from tests.quality.data import make_annotations  # noqa: E402 - the tests' data generator

BENCH_PYTHON = Path(os.environ.get("SKEIN_BENCH_PYTHON", ROOT / ".venv-bench" / "bin" / "python"))


def make_data(
    n_items: int, n_annotators: int, n_classes: int, missing: float, seed: int
) -> dict[str, np.ndarray]:
    """Annotators of mixed skill (0.85 down to 0.45) label every item; cells dropped at random."""
    return make_annotations(
        n_items, n_annotators, n_classes, missing, seed, skill=np.linspace(0.85, 0.45, n_annotators)
    )


def measure(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """Return (result, best wall seconds over repeat runs, tracemalloc peak MiB of one more run)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, best, peak / 2**20


def run_crowdkit(data_path: str, n_iter: int, repeat: int) -> dict[str, Any]:
    """Fit crowd-kit's DawidSkene for exactly n_iter rounds; the DataFrame build is not timed."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    data = np.load(data_path)
    frame = pd.DataFrame(
        {"task": data["item"], "worker": data["annotator"], "label": data["label"]}
    )

    def fit() -> Any:
        # tol=-inf: crowd-kit stops when the gain is below tol, so this runs all n_iter rounds.
        return DawidSkene(n_iter=n_iter, tol=-np.inf).fit_predict(frame)

    labels, seconds, peak = measure(fit, repeat)
    return {
        "version": version("crowd-kit"),
        "seconds": seconds,
        "peak_mib": peak,
        "tasks": labels.index.to_numpy().astype(np.int64).tolist(),
        "labels": labels.to_numpy().astype(np.int64).tolist(),
    }


def crowdkit_result(data: dict[str, np.ndarray], n_iter: int, repeat: int) -> dict[str, Any] | str:
    """crowd-kit's figures, or a sentence saying why there are none."""
    try:
        import crowdkit  # noqa: F401
    except ImportError:
        pass
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "data.npz")
            np.savez(path, **data)
            return run_crowdkit(path, n_iter, repeat)
    if not BENCH_PYTHON.exists():
        return (
            "crowd-kit is NOT available: install it in a separate venv, e.g. "
            "python3 -m venv .venv-bench && "
            ".venv-bench/bin/pip install -r bench/requirements-crowdkit.txt"
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.npz")
        out = os.path.join(tmp, "out.json")
        np.savez(path, **data)
        cmd = [str(BENCH_PYTHON), __file__, "--crowdkit-worker", path, "--out", out]
        cmd += ["--ds-iter", str(n_iter), "--repeat", str(repeat)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return f"crowd-kit run in {BENCH_PYTHON} failed:\n{proc.stderr.strip()[-2000:]}"
        return json.loads(Path(out).read_text())


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({model}), "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--annotators", type=int, default=5)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--missing", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ds-iter", type=int, default=20, help="EM rounds for both DS runs")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--crowdkit-worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.crowdkit_worker:
        result = run_crowdkit(args.crowdkit_worker, args.ds_iter, args.repeat)
        Path(args.out).write_text(json.dumps(result))
        return

    data = make_data(args.items, args.annotators, args.classes, args.missing, args.seed)
    it, an, lb = data["item"], data["annotator"], data["label"]
    n_items, n_ann, k = args.items, args.annotators, args.classes
    print(machine())
    print(
        f"data: {n_items:,} items x {n_ann} annotators, {k} labels, {args.missing:.0%} missing "
        f"-> {it.size:,} annotations; times best of {args.repeat}, peak = tracemalloc peak"
    )
    rows: list[tuple[str, float, float, str]] = []

    def row(name: str, fn: Callable[[], Any], show: Callable[[Any], str], repeat: int) -> Any:
        result, seconds, peak = measure(fn, repeat)
        rows.append((name, seconds, peak, show(result)))
        print(f"  {name:<44} {seconds:8.3f} s {peak:9.1f} MiB   {show(result)}", flush=True)
        return result

    def num(x: Any) -> str:
        return "None" if x is None else f"{x:.6f}"

    alpha = row(
        "krippendorff_alpha_nominal",
        lambda: metrics.krippendorff_alpha_nominal(it, an, lb),
        num,
        args.repeat,
    )
    ours_alpha_s = rows[-1][1]
    try:
        import krippendorff
    except ImportError:
        print("  krippendorff package NOT available")
        kd_alpha = None
    else:
        matrix = np.full((n_ann, n_items), np.nan)
        matrix[an, it] = lb
        kd_alpha = row(
            f"krippendorff {version('krippendorff')} alpha (nominal)",
            lambda: krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"),
            num,
            args.repeat,
        )
        print(
            f"    -> our alpha is {rows[-1][1] / ours_alpha_s:.1f}x faster; "
            f"|difference| = {abs(alpha - kd_alpha):.2e}"
        )
    row(
        f"fleiss_kappa (n_raters={n_ann})",
        lambda: metrics.fleiss_kappa(it, an, lb, n_raters=n_ann),
        num,
        args.repeat,
    )
    row("percent_agreement", lambda: metrics.percent_agreement(it, an, lb), num, args.repeat)
    row("cohen_kappa_mean", lambda: metrics.cohen_kappa_mean(it, an, lb), num, args.repeat)
    row(
        "agreement_with_consensus",
        lambda: metrics.agreement_with_consensus(it, an, lb),
        lambda r: " ".join(f"{c.rate:.3f}" for c in r.values()),
        args.repeat,
    )
    row(
        f"bootstrap_interval(alpha, n_boot={args.n_boot})",
        lambda: metrics.bootstrap_interval(
            it, an, lb, metric="krippendorff_alpha", n_boot=args.n_boot, seed=0
        ),
        lambda r: f"[{r[0]:.6f}, {r[1]:.6f}]",
        args.repeat,
    )
    row(
        "majority_vote",
        lambda: aggregation.majority_vote(it, lb, n_items, k),
        lambda r: (
            f"accuracy vs truth {(r.labels == data['truth']).mean():.4f}, {r.tied.mean():.2%} tied"
        ),
        args.repeat,
    )
    ds = row(
        f"dawid_skene (exactly {args.ds_iter} rounds)",
        lambda: aggregation.dawid_skene(
            it, an, lb, n_items, n_ann, k, max_iter=args.ds_iter, tol=-np.inf
        ),
        lambda r: f"accuracy vs truth {(r.labels == data['truth']).mean():.4f}",
        args.repeat,
    )
    ds_seconds = rows[-1][1]
    row(
        "dawid_skene (default tol, until converged)",
        lambda: aggregation.dawid_skene(it, an, lb, n_items, n_ann, k),
        lambda r: (
            f"{r.n_iter} rounds, converged={r.converged}, "
            f"accuracy vs truth {(r.labels == data['truth']).mean():.4f}"
        ),
        args.repeat,
    )

    ck = crowdkit_result({"item": it, "annotator": an, "label": lb}, args.ds_iter, args.repeat)
    if isinstance(ck, str):
        print("  " + ck)
    else:
        tasks = np.asarray(ck["tasks"], dtype=np.int64)
        ck_labels = np.asarray(ck["labels"], dtype=np.int64)
        same = (ds.labels[tasks] == ck_labels).mean()
        print(
            f"  {'crowd-kit ' + ck['version'] + f' DawidSkene ({args.ds_iter} rounds)':<44} "
            f"{ck['seconds']:8.3f} s {ck['peak_mib']:9.1f} MiB   "
            f"accuracy vs truth {(ck_labels == data['truth'][tasks]).mean():.4f}"
        )
        print(
            f"    -> our Dawid-Skene is {ck['seconds'] / ds_seconds:.1f}x faster; "
            f"identical labels on {same:.4%} of {tasks.size:,} items"
        )


if __name__ == "__main__":
    main()
