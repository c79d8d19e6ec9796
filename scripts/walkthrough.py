"""A newcomer's tour of the local API (start it first with scripts/run.sh).

Creates a room, mints auth tokens for three users, has them join and leave through the 100ms
emulator (Bob leaves and comes back, Alice is on two devices at once), then prints the attendance
table from /session-analytics-by-room and checks it against the definitions in the README.
Standard library only.
"""

import json
import os
import secrets
import sys
import urllib.error
import urllib.request

API = os.environ.get("API", "http://localhost:9000")
EMULATOR = os.environ.get("EMULATOR", "http://127.0.0.1:8910")
DAY = "2026-01-15T"


def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except urllib.error.URLError as e:
        sys.exit(f"cannot reach {url} ({e.reason}): is scripts/run.sh running?")


def ok(status, body, what):
    if status != 200:
        sys.exit(f"{what} failed: {status} {body}")
    return body


def main():
    room = ok(*call("POST", f"{API}/create-room", {"name": f"walkthrough-{secrets.token_hex(3)}"}), "create-room")
    room_id = room["id"]
    print(f"1. created room {room['name']} ({room_id})")

    tokens = {}
    for user, role in [("alice", "host"), ("bob", "guest"), ("carol", "guest")]:
        body = ok(*call("POST", f"{API}/auth-token", {"room_id": room_id, "user_id": user, "role": role}), "auth-token")
        tokens[user] = body["token"]
    print("2. minted auth tokens for alice (host), bob and carol (guests)")

    def join(user, name, time):
        body = ok(*call("POST", f"{EMULATOR}/_emulator/join", {"token": tokens[user], "name": name, "at": DAY + time + "Z"}), "join")
        print(f"   {time}  {name} joins")
        return body["peer_id"]

    def leave(peer, name, time):
        ok(*call("POST", f"{EMULATOR}/_emulator/leave", {"peer_id": peer, "at": DAY + time + "Z"}), "leave")
        print(f"   {time}  {name} leaves")

    print("3. clients join and leave through the 100ms emulator:")
    phone = join("alice", "Alice (phone)", "10:00:00")
    bob1 = join("bob", "Bob", "10:00:00")
    carol = join("carol", "Carol", "10:05:00")
    laptop = join("alice", "Alice (laptop)", "10:10:00")
    leave(bob1, "Bob", "10:10:00")
    bob2 = join("bob", "Bob (again)", "10:15:00")
    leave(laptop, "Alice (laptop)", "10:20:00")
    leave(bob2, "Bob (again)", "10:25:00")
    leave(phone, "Alice (phone)", "10:30:00")
    leave(carol, "Carol", "10:35:30")

    report = ok(*call("GET", f"{API}/session-analytics-by-room?room_id={room_id}"), "session-analytics-by-room")
    print(f"4. attendance of session {report['session_id']} (minutes):")
    print(f"   {'user_id':<8} {'name':<16} {'joins':>5} {'duration':>9}")
    for row in report["user_duration_list"]:
        print(f"   {row['user_id']:<8} {row['name']:<16} {row['joins']:>5} {row['duration']:>9}")
    print(f"   session_duration {report['session_duration']}, total_peer_duration {report['total_peer_duration']}")

    expected = {"alice": 30.0, "bob": 20.0, "carol": 30.5}
    got = {r["user_id"]: r["duration"] for r in report["user_duration_list"]}
    if got != expected or report["session_duration"] != 35.5 or report["total_peer_duration"] != 80.5:
        sys.exit(f"MISMATCH: expected {expected}, session 35.5, total 80.5; got {got}")
    print("5. matches the definitions: Alice's two devices overlap and count once (30, not 40);")
    print("   Bob's two visits add up (10 + 10); the session ran 10:00 to 10:35:30.")


if __name__ == "__main__":
    main()
