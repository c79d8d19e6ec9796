"""Runs scripts/run.sh --jwt as a newcomer would and signs in against it: a token from
scripts/local-token.py gets through (the access token and the ID token), while a forged, an expired
and another app client's token get API Gateway's 401. Run by scripts/test.sh with .venv's Python
(boto3 and joserfc, which moto brings). Stops everything run.sh started (scripts/served.py).

  .venv/bin/python3 scripts/jwt-check.py

The expired token: moto's Cognito issues one-hour tokens only, so the check signs the claims of a
real token, moved two hours back, with the pool's own key as moto holds it (moto's package ships
it). The same claims re-signed with their times left as they were must pass, or the check fails:
what is refused is the expiry, not the signing.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk, jwt
from moto.utilities.utils import load_resource
from served import served

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def token(email, *extra):
    out = subprocess.run([sys.executable, "scripts/local-token.py", email, *extra], cwd=root, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def claims_of(tok):
    body = tok.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def check(what, got, want):
    status = got[0]
    print(f"  {'ok ' if status == want else 'BAD'} {status} (want {want}): {what}", flush=True)
    if status != want:
        print(f"      answer: {got[1]}", flush=True)
        return False
    return True


def main():
    port, emulator = free_port(), free_port()
    env = dict(os.environ, PORT=str(port), EMULATOR_PORT=str(emulator))
    log_path = os.path.join(root, "target", "jwt-check-run.log")
    print(f"$ scripts/run.sh --jwt   (in the background, port {port}; log: target/jwt-check-run.log)", flush=True)
    ok = True
    with served(["scripts/run.sh", "--jwt"], root, env, log_path, "jwt-check"):
        config = json.load(open(os.path.join(root, "target", "local-cognito.json")))
        teacher, student = token("teacher@class.test"), token("student1@class.test")

        made = call(port, "POST", "/create-room", teacher, {"name": f"jwt-check-{int(time.time())}"})
        ok &= check("the teacher's access token creates a room", made, 200)
        room = made[1].get("id", "") if made[0] == 200 else ""
        ok &= check("the teacher's ID token lists its sessions",
                    call(port, "GET", f"/session-list-by-room?room_id={room}", token("teacher@class.test", "--id")), 200)
        ok &= check("a student's token gets a guest token",
                    call(port, "POST", "/auth-token", student, {"room_id": room, "role": "guest"}), 200)
        ok &= check("a student may not create rooms", call(port, "POST", "/create-room", student, {"name": "x"}), 403)
        ok &= check("no token", call(port, "POST", "/create-room", None, {"name": "x"}), 401)

        # Forged: the student's claims made a teacher's, the signature kept; the same claims signed
        # with a key of the forger's own under the pool's kid.
        head, body, sig = student.split(".")
        claims = claims_of(student)
        forged_claims = dict(claims, **{"cognito:groups": ["teachers"]})
        enc = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
        ok &= check("a tampered token (a student made a teacher)",
                    call(port, "POST", "/create-room", f"{head}.{enc}.{sig}", {"name": "x"}), 401)
        forger = jwk.RSAKey.import_key(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        kid = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))["kid"]
        elsewhere = jwt.encode({"alg": "RS256", "kid": kid}, forged_claims, forger)
        ok &= check("the claims signed with another key", call(port, "POST", "/create-room", elsewhere, {"name": "x"}), 401)

        # Expired: signed with the pool's own key (see the docstring), with a control.
        pool_key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
        teacher_claims = claims_of(teacher)
        control = jwt.encode({"alg": "RS256", "kid": kid}, teacher_claims, pool_key)
        ok &= check("control: the teacher's claims re-signed with the pool's key",
                    call(port, "GET", f"/session-list-by-room?room_id={room}", control), 200)
        now = int(time.time())
        old = dict(teacher_claims, iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
        expired = jwt.encode({"alg": "RS256", "kid": kid}, old, pool_key)
        ok &= check("the teacher's token, expired an hour ago",
                    call(port, "GET", f"/session-list-by-room?room_id={room}", expired), 401)

        # Another app client of the same pool: its tokens are not for this API.
        idp = boto3.client("cognito-idp", endpoint_url=config["endpoint"], region_name=config["region"],
                           aws_access_key_id="local", aws_secret_access_key="local")
        other = idp.create_user_pool_client(UserPoolId=config["user_pool_id"], ClientName="another-app",
                                            GenerateSecret=False,
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
        signed_in = idp.initiate_auth(ClientId=other["UserPoolClient"]["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": "teacher@class.test",
                                                      "PASSWORD": config["password"]})["AuthenticationResult"]
        for kind in ("AccessToken", "IdToken"):
            ok &= check(f"another app client's {kind}",
                        call(port, "GET", f"/session-list-by-room?room_id={room}", signed_in[kind]), 401)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
