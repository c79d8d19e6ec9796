"""Invokes every event of events/expected.tsv through `sam local start-lambda` (Lambda's Invoke API,
warm containers) and checks each answer's status and error code against the file.

  python sam-local-invoke.py EXPECTED_TSV EVENTS_DIR OUT_DIR none=PORT jwt=PORT

Events named *-jwt* go to the server whose functions run with CALLER_AUTH=jwt, the rest to the
other. Each answer is kept as OUT_DIR/<event>.out. Exits 1 when an answer differs.
"""
import json
import os
import sys
import time

import boto3
from botocore.config import Config

expected_tsv, events_dir, out_dir, *servers = sys.argv[1:]
ports = dict(s.split("=", 1) for s in servers)


def client(port):
    # The local Invoke API: no retries (a failure is a failure), a generous read timeout (the
    # first call of a function may wait for its container).
    return boto3.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="sam-local",
        aws_secret_access_key="sam-local",
        config=Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10),
    )


clients = {auth: client(port) for auth, port in ports.items()}


def answer(payload):
    out = json.loads(payload)
    body = json.loads(out.get("body") or "{}")
    return f'{out["statusCode"]}\t{body.get("error", "-")}'


count = failures = 0
for line in open(expected_tsv):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    event, function, status, error = line.split("\t")
    auth = "jwt" if "-jwt" in event else "none"
    count += 1
    started = time.monotonic()
    with open(os.path.join(events_dir, event), "rb") as f:
        reply = clients[auth].invoke(FunctionName=function, Payload=f.read())
    payload = reply["Payload"].read().decode()
    with open(os.path.join(out_dir, event + ".out"), "w") as f:
        f.write(payload)
    try:
        got = answer(payload) if "FunctionError" not in reply else f"function error {payload[:200]}"
    except (ValueError, KeyError, TypeError):
        got = "unparsable"
    want = f"{status}\t{error}"
    ms = (time.monotonic() - started) * 1000
    if got == want:
        print(f"  ok   {event:<40} {status} {error} ({ms:.0f} ms)")
    else:
        print(f"FAIL {event}: expected {status} {error}, got {got.replace(chr(9), ' ')} ({out_dir}/{event}.out)")
        failures += 1

print(f"start-lambda: {count - failures} of {count} events answered as expected")
if count < 22:
    print(f"start-lambda: only {count} events listed in {expected_tsv}", file=sys.stderr)
    sys.exit(1)
sys.exit(1 if failures else 0)
