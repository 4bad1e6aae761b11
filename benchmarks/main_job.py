"""The main job (``jaxgan`` with no options: every built-in game under every algorithm, figures
included) timed cold and warm, each in a fresh process.

* cold: an empty compilation-cache folder (every program traced and compiled by XLA);
* warm: the same folder again (JAX's persistent compilation cache, which the CLI switches on,
  serves every XLA compilation; tracing and lowering still run);
* ``--no-compile-cache``: for reference, a run that neither reads nor writes the cache.

Targets (issue "Performance where users feel it", 2-core CPU): cold at most 90 s, warm at most
30 s. Wall times of the whole command (interpreter start and imports included), the report's own
``seconds`` and each run's ``--profile`` table (seconds by phase, summed over the processes).
Writes ``benchmarks/results/main_job.json``.

Usage: ``python benchmarks/main_job.py [--extra-args "--steps 2000"]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

from sweep_dirac import hardware

HERE = os.path.dirname(os.path.abspath(__file__))


def run(args, out):
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "jaxgan", "--profile", "--out", out, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"jaxgan failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    with open(os.path.join(out, "report.json")) as fh:
        report = json.load(fh)
    table = proc.stdout[proc.stdout.index("profile: seconds by phase"):].splitlines()
    phases = {line.split()[0]: float(line.split()[1]) for line in table[2:] if line.strip()}
    return {"wall_seconds": wall, "report_seconds": report["seconds"], "phases": phases, "profile": table}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra-args", default="", help="options passed to every jaxgan run")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "main_job.json"))
    args = parser.parse_args()
    extra = shlex.split(args.extra_args)
    hw = hardware()
    print(f"hardware: {hw}")
    with tempfile.TemporaryDirectory(prefix="jaxgan-main-job-") as tmp:
        cache = os.path.join(tmp, "cache")
        rows = {
            "cold (empty compilation cache)": run([*extra, "--compile-cache-dir", cache], os.path.join(tmp, "cold")),
            "warm (same cache, new process)": run([*extra, "--compile-cache-dir", cache], os.path.join(tmp, "warm")),
            "no compilation cache": run([*extra, "--no-compile-cache"], os.path.join(tmp, "nocache")),
        }
        entries = sum(len(files) for _, _, files in os.walk(cache))
    print(f"\nMain job `jaxgan {' '.join(extra)}` on {hw['cpu']} ({hw['cores']} cores), JAX {hw['jax']} {hw['jax_backend']}")
    print(f"{'run':<34} {'wall s':>8} {'report s':>9}")
    for name, r in rows.items():
        print(f"{name:<34} {r['wall_seconds']:8.1f} {r['report_seconds']:9.1f}")
    cold, warm = rows["cold (empty compilation cache)"], rows["warm (same cache, new process)"]
    for name in ("cold (empty compilation cache)", "warm (same cache, new process)"):
        print(f"\n{name}:\n" + "\n".join(rows[name]["profile"]))
    print(f"warm / cold: {warm['wall_seconds'] / cold['wall_seconds']:.2f}; {entries} files in the cache; "
          f"targets cold <= 90 s: {'yes' if cold['wall_seconds'] <= 90 else 'NO'}, "
          f"warm <= 30 s: {'yes' if warm['wall_seconds'] <= 30 else 'NO'}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump({"benchmark": "main_job", "hardware": hw, "args": extra, "rows": rows, "cache_files": entries}, fh, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
