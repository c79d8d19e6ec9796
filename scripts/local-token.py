"""Signs a user of scripts/run.sh --jwt in (moto's Cognito, the pool in target/local-cognito.json) and
prints the token an app sends to this API: the access token, or with --id the ID token.

  python3 scripts/local-token.py EMAIL [--password PASSWORD] [--id]

  e.g.  curl -H "Authorization: Bearer $(python3 scripts/local-token.py teacher@class.test)" ...

The users: admin@class.test (group admins: runs every room), teacher@class.test (teachers: creates
rooms, asks for host tokens), student1@class.test and student2@class.test (no group). The password
defaults to the one run.sh made for them. Standard library only: InitiateAuth is Cognito's public,
unsigned call, as a mobile app makes it.
"""
import argparse
import json
import pathlib
import sys
import urllib.error
import urllib.request


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("email")
    parser.add_argument("--password")
    parser.add_argument("--id", action="store_true", help="print the ID token instead of the access token")
    args = parser.parse_args()
    path = pathlib.Path(__file__).resolve().parent.parent / "target" / "local-cognito.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"{path} is missing: start scripts/run.sh --jwt first")
    body = {"ClientId": config["client_id"], "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": args.email, "PASSWORD": args.password or config["password"]}}
    req = urllib.request.Request(config["endpoint"] + "/", data=json.dumps(body).encode(), method="POST", headers={
        "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
        "Content-Type": "application/x-amz-json-1.1",
    })
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as e:
        sys.exit(f"sign-in refused: {e.code} {e.read().decode(errors='replace')}")
    except urllib.error.URLError as e:
        sys.exit(f"Cognito (moto) at {config['endpoint']} is not answering ({e.reason}): is run.sh --jwt running?")
    result = answer.get("AuthenticationResult")
    if not result:
        sys.exit(f"sign-in needs a further step ({answer.get('ChallengeName')}): not supported here")
    print(result["IdToken"] if args.id else result["AccessToken"])


if __name__ == "__main__":
    main()
