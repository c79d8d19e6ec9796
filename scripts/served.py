"""The local API served in the background for a check: starts a command (scripts/run.sh, or the
README's serve block) in a process group of its own, waits for its banner "The API is up", and on
leaving stops the whole group (run.sh's trap then stops everything it started). Used by
readme-check.py and jwt-check.py.
"""
import contextlib
import os
import signal
import subprocess
import sys
import time


@contextlib.contextmanager
def served(args, cwd, env, log_path, who, timeout=1800):
    """Runs `args` with its output in `log_path`; yields once the banner is in it. `who` names the
    caller in the message when the API never comes up (within `timeout` seconds, or it exits)."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    with open(log_path, "w") as log:
        server = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.time() + timeout
        while "The API is up" not in open(log_path).read():
            if server.poll() is not None or time.time() > deadline:
                sys.exit(f"{who}: the API never came up:\n{open(log_path).read()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
