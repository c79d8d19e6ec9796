"""Mints a token for scripts/run.sh --jwt's local JWT authorizer (HS256 with the run's key, from
target/local-jwt.env): the stand-in for your identity provider's tokens.

  python3 scripts/local-token.py SUB [GROUP ...]     e.g.  local-token.py alice teachers

Groups go in cognito:groups: admin (runs every room), teachers (creates rooms and asks for host
tokens), none (a signed-in user). Valid for an hour. Standard library only.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    env_file = pathlib.Path(__file__).resolve().parent.parent / "target" / "local-jwt.env"
    try:
        env = dict(line.split("=", 1) for line in env_file.read_text().split("\n") if "=" in line)
    except FileNotFoundError:
        sys.exit(f"{env_file} is missing: start scripts/run.sh --jwt first")
    now = int(time.time())
    claims = {"sub": sys.argv[1], "iss": env["ISSUER"], "aud": env["AUDIENCE"], "iat": now, "exp": now + 3600,
              "cognito:groups": sys.argv[2:]}
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(env["KEY"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    print(f"{head}.{body}.{b64(sig)}")


if __name__ == "__main__":
    main()
