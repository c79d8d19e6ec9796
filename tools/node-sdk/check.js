"use strict";
// 100ms's official Node server SDK (@100mslive/server-sdk, pinned in package-lock.json) against
// the emulator: rooms, room codes, the active room (a peer's role and name, a message) and live
// streams (start, read, list, timed metadata, pause and resume of the recording, stop, stop all),
// each call as the SDK makes it (its bodies, its `{}` on bodiless POSTs, its paging). The SDK has
// its base URL built in; it is pointed at the emulator, the one change made to it.
//   HMS_EMULATOR=http://127.0.0.1:PORT HMS_ACCESS_KEY=... HMS_SECRET=... node check.js
const assert = require("node:assert/strict");
const { SDK } = require("@100mslive/server-sdk");

const base = process.env.HMS_EMULATOR;
assert.ok(base, "HMS_EMULATOR is the emulator's base URL");
const hms = new SDK(process.env.HMS_ACCESS_KEY, process.env.HMS_SECRET);
hms.api.axios.defaults.baseURL = base + "/v2";

async function control(path, body) {
  const res = await fetch(base + "/_emulator/" + path, {
    method: body ? "POST" : "GET",
    headers: { "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.equal(res.status, 200, path + ": " + (await res.clone().text()));
  return res.json();
}

const advance = (seconds) => control("clock", { advance_seconds: seconds });

async function main() {
  const checked = [];
  const room = await hms.rooms.create({ name: "sdk-class-" + Date.now() });
  assert.match(room.id, /^[0-9a-f]{24}$/);
  const codes = await hms.roomCodes.create(room.id);
  assert.deepEqual(codes.map((c) => c.role).sort(), ["guest", "host", "viewer"]);
  checked.push("rooms.create", "roomCodes.create");

  const join = async (role, user) => {
    const token = await hms.auth.getAuthToken({ roomId: room.id, role, userId: user });
    return (await control("join", { token: token.token, name: user })).peer_id;
  };
  await join("host", "teacher");
  const student = await join("guest", "student");
  const peers = await hms.activeRooms.retrieveActivePeers(room.id);
  assert.equal(Object.keys(peers).length, 2);
  const onStage = await hms.activeRooms.updatePeer(room.id, student, { role: "host", name: "Ada" });
  assert.equal(onStage.role, "host");
  assert.equal(onStage.name, "Ada");
  const seen = await hms.activeRooms.retrievePeerDetails(room.id, student);
  assert.equal(seen.role, "host");
  await hms.activeRooms.updatePeer(room.id, student, { role: "guest" });
  await hms.activeRooms.sendMessage(room.id, { message: "Quiz in 5", type: "quiz" });
  const sent = (await control("messages")).messages;
  assert.equal(sent.at(-1).message, "Quiz in 5");
  assert.equal(sent.at(-1).to.length, 2, "a message without a target reaches everyone");
  checked.push("activeRooms.updatePeer", "activeRooms.retrievePeerDetails", "activeRooms.sendMessage");

  const meeting = "https://emulator.app.100ms.live/preview/" + room.id + "/viewer?skip_preview=true";
  const stream = await hms.liveStreams.start(room.id, { meeting_url: meeting, recording: { hls_vod: true } });
  assert.equal(stream.status, "starting");
  assert.ok(stream.playback.url.endsWith("/master.m3u8"));
  await advance(5);
  const running = await hms.liveStreams.retrieve(stream.id);
  assert.equal(running.status, "running");
  assert.ok(running.started_at instanceof Date, "the SDK turned started_at into a Date");
  const cued = await hms.liveStreams.sendTimedMetadata(stream.id, { payload: "poll-1", duration: 10 });
  assert.equal(cued.id, stream.id);
  const playlist = await (await fetch(stream.playback.url)).text();
  assert.match(playlist, /X-100MSLIVE-PAYLOAD="poll-1"/);
  assert.equal((await hms.liveStreams.pauseRecording(stream.id)).status, "running");
  assert.equal((await hms.liveStreams.resumeRecording(stream.id)).status, "running");
  const listed = [];
  for await (const s of hms.liveStreams.list({ room_id: room.id })) listed.push(s.id);
  assert.deepEqual(listed, [stream.id]);
  const stopped = await hms.liveStreams.stop(stream.id);
  assert.equal(stopped.status, "stopping");
  checked.push("liveStreams.start", "liveStreams.retrieve", "liveStreams.sendTimedMetadata",
    "liveStreams.pauseRecording", "liveStreams.resumeRecording", "liveStreams.list", "liveStreams.stop");

  const second = await hms.liveStreams.start(room.id, { meeting_url: meeting });
  const all = await hms.liveStreams.stopAll(room.id);
  assert.deepEqual(all.map((s) => s.id), [second.id]);
  await advance(60);
  const done = await hms.liveStreams.retrieve(stream.id);
  assert.equal(done.status, "completed");
  assert.deepEqual(done.recording_assets.map((a) => a.type), ["room-vod"]);
  checked.push("liveStreams.stopAll");

  await assert.rejects(hms.liveStreams.retrieve("0123456789abcdef01234567"), (e) => e.code === 404);
  await hms.activeRooms.end(room.id, { reason: "class over", lock: true });
  const locked = await hms.rooms.retrieveById(room.id);
  assert.equal(locked.enabled, false);
  const unlocked = await hms.rooms.enableOrDisable(room.id, true);
  assert.equal(unlocked.enabled, true);
  checked.push("activeRooms.end", "rooms.enableOrDisable");
  console.log(JSON.stringify({ ok: true, checked }));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
