"""Runs the README's local commands verbatim, as a newcomer would, in the order it gives them.

The README marks its code blocks: `<!-- readme-check: serve -->` before the block that starts the
API (run in the background until "The API is up"), `<!-- readme-check: run -->` before each block
run while it serves, line by line in one bash (`set -e`), from the repository root, with PATH as
a fresh shell has it (no .venv/bin: the block must say so itself). Blocks left unmarked need
AWS or are the test and benchmark commands themselves. Fails when a block fails, when no marked
block runs `cargo lambda invoke`, or when the invoke does not answer 200. Prints how long the
first answer after the banner took. Stops everything the served command started.
"""
import os
import re
import subprocess
import sys
import time

from served import served

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
readme = open(os.path.join(root, "README.md")).read()
blocks = re.findall(r"<!-- readme-check: (serve|run) -->\s*```sh\n(.*?)```", readme, re.S)
serve = [b for kind, b in blocks if kind == "serve"]
runs = [b for kind, b in blocks if kind == "run"]
if len(serve) != 1 or not runs:
    sys.exit(f"readme-check: want one serve block and some run blocks, found {len(serve)} and {len(runs)}")
if not any("cargo lambda invoke" in b for b in runs):
    sys.exit("readme-check: no checked block runs `cargo lambda invoke`")

env = dict(os.environ)
venv_bin = os.path.join(root, ".venv", "bin")
env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if os.path.abspath(p) != venv_bin)
log_path = os.path.join(root, "target", "readme-check-serve.log")
print(f"$ {serve[0].strip()}   (in the background; log: target/readme-check-serve.log)", flush=True)
failed = False
with served(["bash", "-c", serve[0]], root, env, log_path, "readme-check"):
    banner_at = time.time()
    for block in runs:
        for line in [l for l in block.splitlines() if l.strip() and not l.lstrip().startswith("#")]:
            print(f"$ {line}", flush=True)
        started = time.time()
        done = subprocess.run(["bash", "-e", "-c", block], cwd=root, env=env, capture_output=True, text=True,
                              timeout=600)
        print(f"  (block ran in {time.time() - started:.2f} s", end="")
        if banner_at:
            print(f"; it started {started - banner_at:.2f} s after the banner", end="")
            banner_at = None
        print(")")
        print(done.stdout[-2000:], done.stderr[-2000:], sep="", flush=True)
        if done.returncode != 0:
            print(f"readme-check: the block above failed (exit {done.returncode})", file=sys.stderr)
            failed = True
            break
        if "cargo lambda invoke" in block and '"statusCode":200' not in done.stdout:
            print("readme-check: cargo lambda invoke did not answer 200", file=sys.stderr)
            failed = True
            break
sys.exit(1 if failed else 0)
