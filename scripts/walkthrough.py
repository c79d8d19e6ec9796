"""A newcomer's tour of the local API (start it first with scripts/run.sh).

Creates a room, mints auth tokens for three users, has them join and leave through the 100ms
emulator (Bob leaves and comes back, Alice is on two devices at once), then prints the attendance
table from /session-analytics-by-room and checks it against the definitions in docs/attendance.md.

Then the next class, run by its host through room-control: room codes for the class, students
joining by code (as 100ms's client SDKs do), the host listing who is in, removing one, an
announcement to the room, a student brought on stage and back, a recording with a transcript and
an AI summary, paused and resumed, ending the room with lock, a rejoin refused, unlocking it,
and the class report: the recording's link and the summary's sections, as the attendance page
shows them.

Last, the room's attendance history: the emulator sent 100ms's webhooks to /webhooks/100ms as
things happened, and both classes' reports are read back from the events table, as JSON (the
first class's figures the same as step 4's) and as CSV for a spreadsheet. Standard library only.
"""

import json
import os
import secrets
import sys
import time
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
    next_class(room_id)


def join_by_code(code, user):
    """What a client app does with a room code: a token from the code, then a join with it."""
    status, body = call("POST", f"{EMULATOR}/v2/token", {"code": code, "user_id": user})
    if status != 200:
        return status, body
    return call("POST", f"{EMULATOR}/_emulator/join", {"token": body["token"], "name": user})


def next_class(room_id):
    codes = ok(*call("POST", f"{API}/room-codes", {"room_id": room_id}), "room-codes")["room_codes"]
    by_role = {c["role"]: c["code"] for c in codes}
    print("6. room codes for the next class (one per allowed role, never expiring):")
    for role, code in sorted(by_role.items()):
        print(f"   {role:<7} {code}")
    if "host" not in by_role or "guest" not in by_role:
        sys.exit(f"MISMATCH: expected codes for host and guest, got {sorted(by_role)}")

    teacher = ok(*join_by_code(by_role["host"], "teacher"), "join by code")["peer_id"]
    students = [ok(*join_by_code(by_role["guest"], f"student-{i}"), "join by code")["peer_id"] for i in (1, 2, 3)]
    print("7. the teacher and three students join by code")

    peers = ok(*call("GET", f"{API}/active-peers?room_id={room_id}"), "active-peers")
    print(f"8. the host lists who is in: {', '.join(p['user_id'] for p in peers['peers'])}")
    if peers["count"] != 4 or peers["peers"][0]["id"] != teacher:
        sys.exit(f"MISMATCH: expected the teacher first of 4 peers, got {peers}")

    ok(*call("POST", f"{API}/remove-peer", {"room_id": room_id, "peer_id": students[0], "reason": "Disrupting the class"}), "remove-peer")
    left = ok(*call("GET", f"{API}/active-peers?room_id={room_id}"), "active-peers")["count"]
    print(f"9. the host removes student-1 ({left} left in the room)")
    if left != 3:
        sys.exit(f"MISMATCH: expected 3 peers after the removal, got {left}")

    live_class(room_id, students)
    summary = {"enabled": True, "sections": [{"title": "Key Points", "format": "bullets"},
                                             {"title": "Homework", "format": "paragraph"}]}
    start = {"room_id": room_id, "transcription": {"enabled": True, "output_modes": ["txt"], "summary": summary}}
    rec = ok(*call("POST", f"{API}/recordings/start", start), "recordings/start")["recording"]
    clock(40)
    ok(*call("POST", f"{API}/recordings/pause", {"room_id": room_id}), "recordings/pause")
    clock(30)
    ok(*call("POST", f"{API}/recordings/resume", {"room_id": room_id}), "recordings/resume")
    clock(23)
    ok(*call("POST", f"{API}/recordings/stop", {"room_id": room_id}), "recordings/stop")
    print(f"12. recording {rec['id']} (with a transcript and an AI summary) starts, records 37 s, pauses")
    print("    30 s for a break, resumes, records 23 s more and stops (on the emulator's clock)")

    ended = ok(*call("POST", f"{API}/end-room", {"room_id": room_id, "reason": "Class has ended", "lock": True}), "end-room")
    status, refused = join_by_code(by_role["guest"], "student-2")
    print(f"13. the host ends the room with lock (ended {ended['ended']}, locked {ended['locked']});")
    print(f"    a rejoin by code is refused: {status} {refused.get('message')}")
    if status != 403:
        sys.exit(f"MISMATCH: a rejoin of a locked room should be refused, got {status} {refused}")
    unlocked = ok(*call("POST", f"{API}/room-enabled", {"room_id": room_id, "enabled": True}), "room-enabled")
    print(f"14. and unlocks it for the next class (enabled {unlocked['enabled']}), no dashboard needed")

    clock(120)
    class_report(room_id, rec["id"])
    history(room_id)


def clock(seconds):
    ok(*call("POST", f"{EMULATOR}/_emulator/clock", {"advance_seconds": seconds}), "clock")


def live_class(room_id, students):
    """During class: an announcement to the room, a student on stage and back."""
    sent = ok(*call("POST", f"{API}/send-message", {"room_id": room_id, "message": "Quiz starts in 5 minutes", "type": "quiz-start"}), "send-message")
    reached = ok(*call("GET", f"{EMULATOR}/_emulator/messages"), "messages")["messages"][-1]["to"]
    print(f"10. an announcement to the room ({sent['message']}, reached {len(reached)} peers, type quiz-start)")
    if len(reached) != 3:
        sys.exit(f"MISMATCH: expected the announcement to reach the 3 peers in the room, got {reached}")
    roles = []
    for role in ("host", "guest"):
        peer = ok(*call("POST", f"{API}/update-peer", {"room_id": room_id, "peer_id": students[1], "role": role}), "update-peer")["peer"]
        peers = ok(*call("GET", f"{API}/active-peers?room_id={room_id}"), "active-peers")["peers"]
        roles.append(next(p["role"] for p in peers if p["id"] == peer["id"]))
    print(f"11. student-2 comes on stage and goes back: role {roles[0]}, then {roles[1]} (as /active-peers shows it)")
    if roles != ["host", "guest"]:
        sys.exit(f"MISMATCH: expected host then guest, got {roles}")


def class_report(room_id, recording_id):
    """What the attendance page's class report shows: the recording's assets, a link on demand, the summary."""
    recordings = ok(*call("GET", f"{API}/recordings?room_id={room_id}"), "recordings")["recordings"]
    done = next(r for r in recordings if r["id"] == recording_id)
    assets = {a["type"]: a for a in done.get("assets", [])}
    video, transcript, summary = assets["room-composite"], assets.get("transcript"), assets.get("summary")
    if video["duration"] != 60 or not transcript or not summary:
        sys.exit(f"MISMATCH: expected 60 s recorded (the break left out), a transcript and a summary: {done}")
    link = ok(*call("GET", f"{API}/recording-url?asset_id={transcript['id']}&duration=600"), "recording-url")
    print(f"15. the class report: the recording is {done['status']}, {video['duration']} s (the break left out),")
    print(f"    with {', '.join(sorted(assets))}; the transcript's link, valid until {link['expires_at']}:")
    print(f"    {link['url'][:100]}...")
    sections = ok(*call("GET", f"{API}/recording-summary?asset_id={summary['id']}"), "recording-summary")["sections"]
    print("    the AI summary (the emulator's stand-in text):")
    for sec in sections:
        print(f"      {sec['title']}: {' / '.join(sec['text'])}")
    if [s["title"] for s in sections] != ["Key Points", "Homework"]:
        sys.exit(f"MISMATCH: expected the two sections asked for, got {sections}")
    print(f"    the attendance page shows the same: {API}/attendance?room_id={room_id}")


def history(room_id):
    """The classes' attendance, kept from the webhooks the emulator sent as they happened."""
    deadline = time.monotonic() + 60
    while True:
        page = ok(*call("GET", f"{API}/attendance-history?room_id={room_id}"), "attendance-history")
        if page["count"] == 2:
            break
        if time.monotonic() > deadline:
            sys.exit(f"MISMATCH: expected both classes in the attendance history within 60 s, got {page}")
        time.sleep(0.5)
    newest, first = page["reports"]
    print(f"16. the attendance history (from 100ms's webhooks, kept in the events table): {page['count']} classes")
    for r in (newest, first):
        people = ", ".join(f"{a['user_id']} {a['duration']}" for a in r["user_duration_list"])
        print(f"    session {r['session_id']} started {r['session_started_at']}: {people}")
    got = {a["user_id"]: a["duration"] for a in first["user_duration_list"]}
    if got != {"alice": 30.0, "bob": 20.0, "carol": 30.5}:
        sys.exit(f"MISMATCH: the first class's kept report differs from step 4: {got}")
    bob = next(a for a in first["user_duration_list"] if a["user_id"] == "bob")
    print(f"    bob's visits: {', '.join(v['joined_at'][11:19] + '-' + v['left_at'][11:19] for v in bob['visits'])}")
    req = urllib.request.Request(f"{API}/attendance-history?room_id={room_id}&format=csv")
    with urllib.request.urlopen(req, timeout=120) as resp:
        ctype, csv = resp.headers.get("content-type", ""), resp.read().decode()
    rows = csv.split("\r\n")
    attendees = len(newest["user_duration_list"]) + len(first["user_duration_list"])
    if not ctype.startswith("text/csv") or len([r for r in rows if r]) != attendees + 1:
        sys.exit(f"MISMATCH: expected a CSV with a header and {attendees} rows, got {ctype}: {csv[:300]}")
    print(f"17. the same as CSV for a spreadsheet ({attendees} rows):")
    for row in rows[:3]:
        print(f"    {row[:110]}")


if __name__ == "__main__":
    main()
