"use strict";
// The attendance page: sessions of a room (100ms's list, live one included, and the stored
// history), a timeline and a table of the chosen session's attendance, and its CSV, all read from
// this API with the caller's bearer token. Paths are relative to the page, so a stage prefix works.
(() => {
  const TOKEN_KEY = "hms-attendance-token";
  const LIVE_REFRESH_MS = 10000;
  const $ = (id) => document.getElementById(id);
  const state = { room: "", sessions: new Map(), listCursor: null, historyCursor: null, current: null,
    rows: [], sort: { key: "duration", dir: -1 }, timer: null, seq: 0, reportSeq: 0, span: null };

  // The token: from the URL's fragment (never sent to a server) or the form, kept in
  // sessionStorage, which the browser drops with the tab.
  function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }
  function setToken(t) {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    $("token-state").textContent = t ? "A token is set for this tab." : "No token set.";
  }
  function takeTokenFromFragment() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return;
    setToken(decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }

  class ApiError extends Error {
    constructor(status, message, code) { super(message); this.status = status; this.code = code; }
  }

  // GET `path` with `params`; the JSON body, or the raw response when `raw`. A non-2xx answer
  // throws the API's own message (`msg`; API Gateway's authorizer says `message`).
  async function api(path, params, raw) {
    const url = new URL(path, location.href);
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    const headers = { accept: raw ? "text/csv" : "application/json" };
    if (token()) headers.authorization = "Bearer " + token();
    let res;
    try {
      res = await fetch(url, { headers, cache: "no-store", credentials: "omit" });
    } catch (e) {
      throw new ApiError(0, "The API could not be reached (" + e.message + ").");
    }
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch (_) { /* not JSON: the status says it */ }
      const msg = (body && (body.msg || body.message)) || res.status + " " + res.statusText;
      throw new ApiError(res.status, msg, body && body.error);
    }
    return raw ? res : res.json();
  }

  function showError(e) {
    const box = $("error");
    if (!e) { box.hidden = true; box.textContent = ""; return; }
    let text = e instanceof ApiError ? e.message : "Something went wrong: " + e.message;
    if (e.status === 401) text += " (set an access token above)";
    box.textContent = text;
    box.hidden = false;
    if (!(e instanceof ApiError)) console.error(e);
  }
  function status(text) { $("status").textContent = text; }

  const ms = (iso) => (iso ? Date.parse(iso) : NaN);
  function clock(t) {
    return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function day(t) {
    return new Date(t).toLocaleString([], { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function minutes(m) {
    const s = Math.round(m * 60), h = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
    return (h ? h + " h " : "") + (h || mm ? mm + " min" : "") + (ss ? " " + ss + " s" : "") || "0 s";
  }

  // Sessions: 100ms's list (the live one and recent ones) and the stored history, one entry per id.
  function addSession(id, fields) {
    const s = state.sessions.get(id) || { id, started: NaN, active: false, report: null, in100ms: false };
    Object.assign(s, fields);
    state.sessions.set(id, s);
  }

  async function loadRoom(room, more) {
    showError(null);
    stopLive();
    if (!more) {
      state.room = room; state.sessions = new Map(); state.listCursor = null; state.historyCursor = null;
      $("view").hidden = true; $("sessions").hidden = true;
      const url = new URL(location.href);
      url.searchParams.set("room_id", room);
      history.replaceState(null, "", url.pathname + url.search);
    }
    status("Loading the sessions of room " + room + "…");
    const [list, hist] = await Promise.allSettled([
      more && !state.listCursor ? null : api("session-list-by-room", { room_id: room, cursor: state.listCursor }),
      more && !state.historyCursor ? null : api("attendance-history", { room_id: room, cursor: state.historyCursor }),
    ]);
    if (list.status === "rejected") { status(""); showError(list.reason); return; }
    if (list.value) {
      for (const s of list.value.sessions) addSession(s.id, { started: ms(s.created_at), active: !!s.active, in100ms: true });
      state.listCursor = list.value.next_cursor;
    }
    const notice = $("notice");
    notice.hidden = true;
    if (hist.status === "rejected") {
      notice.textContent = "The attendance history could not be read: " + hist.reason.message;
      notice.hidden = false;
      state.historyCursor = null;
    } else if (hist.value) {
      for (const r of hist.value.reports) addSession(r.session_id, { started: ms(r.session_started_at), report: r });
      state.historyCursor = hist.value.next_cursor;
    }
    renderSessions();
  }

  function renderSessions() {
    const select = $("session");
    const keep = select.value;
    const all = [...state.sessions.values()].sort((a, b) => b.started - a.started);
    select.replaceChildren(...all.map((s) => {
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = (isNaN(s.started) ? s.id : day(s.started)) + (s.active ? " · live" : " · ended") + (s.report ? "" : s.active ? "" : " · from 100ms");
      return o;
    }));
    $("older").hidden = !state.listCursor && !state.historyCursor;
    $("sessions").hidden = false;
    if (!all.length) { status("Room " + state.room + " has no sessions yet."); $("view").hidden = true; return; }
    status(all.length + (all.length === 1 ? " session" : " sessions") + " of room " + state.room + ".");
    select.value = state.sessions.has(keep) ? keep : all[0].id;
    showSession(select.value);
  }

  // A session's attendance: the live one (and any the history lacks) from 100ms through
  // /session-analytics-by-room, every page; an ended one from its stored report.
  function source(s) {
    return s.active || !s.report
      ? { path: "session-analytics-by-room", params: { room_id: state.room, session_id: s.id } }
      : { path: "attendance-history", params: { room_id: state.room, session_id: s.id } };
  }

  async function fetchReport(s) {
    if (!s.active && s.report) return s.report;
    let report = null, cursor = null;
    do {
      const page = await api("session-analytics-by-room", { room_id: state.room, session_id: s.id, cursor });
      if (report) report.user_duration_list.push(...page.user_duration_list); else report = page;
      cursor = page.next_cursor;
    } while (cursor);
    return report;
  }

  async function showSession(id, quiet) {
    const s = state.sessions.get(id);
    if (!s) return;
    const seq = ++state.seq;
    if (!quiet) { stopLive(); showError(null); status("Loading session " + id + "…"); }
    let report;
    try {
      report = await fetchReport(s);
    } catch (e) {
      if (seq === state.seq) { showError(e); if (!quiet) status(""); }
      return;
    }
    if (seq !== state.seq) return;
    s.active = !!report.active;
    const fresh = !state.current || state.current.session.id !== s.id;
    state.current = { session: s, report };
    state.rows = report.user_duration_list.map((a, i) => ({ ...a, order: i }));
    render();
    if (fresh || !quiet) loadClassReport(s);
    status("Session " + id + (report.active ? " is live: refreshed every " + LIVE_REFRESH_MS / 1000 + " s." : "."));
    stopLive();
    // Only while this session is still the one shown.
    if (report.active) state.timer = setTimeout(() => { if ($("session").value === id) showSession(id, true); }, LIVE_REFRESH_MS);
  }

  function stopLive() { if (state.timer) { clearTimeout(state.timer); state.timer = null; } }

  function render() {
    const { report } = state.current;
    const start = ms(report.session_started_at);
    const end = report.active ? Date.now() : start + report.session_duration * 60000;
    state.span = [start, end];
    $("session-title").textContent = "Session " + report.session_id + (report.active ? " (live)" : "");
    $("facts").textContent = "Started " + day(start) + " · " + minutes(report.session_duration) +
      " · " + report.attendee_count + (report.attendee_count === 1 ? " attendee" : " attendees") +
      " · " + minutes(report.total_peer_duration) + " attended in all";
    $("view").hidden = false;
    renderAxis(start, end);
    renderTimeline(start, end);
    renderTable();
  }

  // The axis: as many labels as fit the width without touching (2 to 5), with the date when the
  // session spans more than one day, seconds only when it is short.
  function renderAxis(start, end) {
    const axis = $("axis");
    const multiDay = new Date(start).toDateString() !== new Date(end).toDateString();
    const opts = multiDay ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }
      : end - start <= 10 * 60000 ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
      : { hour: "2-digit", minute: "2-digit" };
    const fmt = (t) => new Date(t).toLocaleString([], opts);
    const probe = document.createElement("span");
    probe.textContent = fmt(end);
    axis.replaceChildren(probe);
    const room = axis.clientWidth, wide = probe.offsetWidth + 16;
    const n = Math.max(2, Math.min(5, Math.floor(room / Math.max(wide, 1))));
    const ticks = [];
    for (let i = 0; i < n; i++) {
      const t = document.createElement("span");
      t.style.left = (i * 100) / (n - 1) + "%";
      t.textContent = fmt(start + ((end - start) * i) / (n - 1));
      ticks.push(t);
    }
    axis.replaceChildren(...ticks);
    axis.dataset.ticks = String(n);
  }

  // The class report: what was recorded in the session (room-control's /recordings), each asset a
  // button that asks for a fresh link when clicked (no link is in the page before), and the AI
  // summary's sections as text.
  const ASSET_NAMES = { "room-composite": "Recording", "room-vod": "Recording (HLS)", chat: "Chat", transcript: "Transcript" };

  async function loadClassReport(s) {
    const seq = ++state.reportSeq;
    const note = $("report-status");
    $("recordings").replaceChildren();
    $("summary").replaceChildren();
    note.textContent = "Reading what was recorded…";
    let page;
    try {
      page = await api("recordings", { room_id: state.room, session_id: s.id, limit: 20 });
    } catch (e) {
      if (seq === state.reportSeq) note.textContent = "The recordings could not be read: " + e.message;
      return;
    }
    if (seq !== state.reportSeq) return;
    const recs = page.recordings || [];
    note.textContent = recs.length ? recs.length + (recs.length === 1 ? " recording." : " recordings.") : "Nothing was recorded in this session.";
    const summaries = [];
    $("recordings").replaceChildren(...recs.map((r) => {
      const li = document.createElement("li");
      li.className = "recording";
      li.dataset.recordingId = r.id;
      const started = ms(r.started_at || r.created_at);
      li.append("Recording of " + (isNaN(started) ? "?" : clock(started)) + " · " + (r.status || "unknown"));
      const assets = document.createElement("div");
      assets.className = "assets";
      for (const a of r.assets || []) {
        if (a.status && a.status !== "completed") continue;
        if (a.type === "summary") { summaries.push(a.id); continue; }
        const mode = a.metadata && a.metadata.output_mode;
        const b = document.createElement("button");
        b.type = "button";
        b.className = "asset";
        b.dataset.assetId = a.id;
        b.dataset.type = a.type || "";
        b.textContent = (ASSET_NAMES[a.type] || a.type || "File") + (mode ? " (" + mode + ")" : "");
        assets.append(b);
      }
      li.append(assets);
      return li;
    }));
    for (const id of summaries) {
      try {
        const sum = await api("recording-summary", { asset_id: id });
        if (seq !== state.reportSeq) return;
        renderSummary(sum.sections);
      } catch (e) {
        if (seq === state.reportSeq) note.textContent += " The summary could not be read: " + e.message;
      }
    }
  }

  function renderSummary(sections) {
    const box = $("summary");
    const h = document.createElement("h3");
    h.textContent = "AI summary";
    box.append(h);
    for (const sec of sections) {
      const t = document.createElement("h4");
      t.textContent = sec.title;
      box.append(t);
      if (sec.format === "paragraph") {
        for (const line of sec.text) { const p = document.createElement("p"); p.textContent = line; box.append(p); }
      } else {
        const ul = document.createElement("ul");
        for (const line of sec.text) { const li = document.createElement("li"); li.textContent = line; ul.append(li); }
        box.append(ul);
      }
    }
  }

  // A click on an asset: a fresh presigned link from the API, shown with when it stops working.
  async function openAsset(button) {
    const holder = button.parentElement;
    let link = holder.querySelector('a[data-asset-id="' + button.dataset.assetId + '"]');
    button.disabled = true;
    try {
      const got = await api("recording-url", { asset_id: button.dataset.assetId });
      // Only a web link becomes the anchor's target (never a javascript: or data: URL).
      if (!/^https?:\/\//i.test(got.url)) throw new Error("the API gave a link that is not http(s)");
      if (!link) {
        link = document.createElement("a");
        link.dataset.assetId = button.dataset.assetId;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        button.after(link);
      }
      link.href = got.url;
      link.dataset.expiresAt = got.expires_at;
      link.textContent = "open (link valid until " + clock(ms(got.expires_at)) + ")";
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  }

  function label(a) {
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = a.name || "(no name)";
    const id = document.createElement("small");
    if (a.user_id) id.textContent = a.user_id; else { id.textContent = "no user id"; id.className = "anon"; }
    who.append(id);
    return who;
  }

  function renderTimeline(start, end) {
    const span = Math.max(end - start, 1);
    const pct = (t) => Math.min(100, Math.max(0, ((t - start) / span) * 100));
    const rows = state.current.report.user_duration_list.map((a) => {
      const li = document.createElement("li");
      li.dataset.userId = a.user_id || "";
      const track = document.createElement("span");
      track.className = "track";
      for (const v of a.visits) {
        const from = ms(v.joined_at), open = !v.left_at, to = open ? Math.max(Date.now(), from) : ms(v.left_at);
        const bar = document.createElement("span");
        bar.className = open ? "bar open" : "bar";
        bar.tabIndex = 0;
        bar.setAttribute("role", "img");
        const text = (a.name || "(no name)") + (a.user_id ? " (" + a.user_id + ")" : " (no user id)") + "\n" +
          clock(from) + " to " + (open ? "now, still in the room" : clock(to)) + " · " + minutes((to - from) / 60000) +
          "\n" + v.joined_at + " – " + (v.left_at || "…");
        bar.setAttribute("aria-label", text.replace(/\n/g, ", "));
        bar.dataset.tip = text;
        bar.style.left = pct(from) + "%";
        bar.style.width = Math.max(pct(to) - pct(from), 0) + "%";
        track.append(bar);
      }
      li.append(label(a), track);
      return li;
    });
    $("timeline").replaceChildren(...rows);
  }

  function renderTable() {
    const { key, dir } = state.sort;
    const value = (r) => (key === "duration" ? r.duration_seconds : key === "joins" ? r.joins : (r[key] || "").toLowerCase());
    const rows = [...state.rows].sort((a, b) => {
      const x = value(a), y = value(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir || a.order - b.order;
    });
    $("attendees").tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      const cells = [r.name || "(no name)", r.user_id || "no user id", r.role || "", String(r.joins), String(r.duration)];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = text;
        if (i >= 3) td.className = "num";
        tr.append(td);
      });
      return tr;
    }));
    for (const th of $("attendees").tHead.rows[0].cells) {
      const k = th.querySelector("button").dataset.key;
      th.setAttribute("aria-sort", k === key ? (dir > 0 ? "ascending" : "descending") : "none");
    }
  }

  // The CSV exactly as the API gives it: every page, one header.
  async function downloadCsv() {
    if (!state.current) return;
    const s = state.current.session;
    const { path, params } = source(s);
    showError(null);
    status("Preparing the CSV…");
    try {
      let text = "", cursor = null, name = "attendance-" + state.room + "-" + s.id + ".csv";
      do {
        const res = await api(path, { ...params, format: "csv", cursor }, true);
        const part = await res.text();
        text += text ? part.slice(part.indexOf("\r\n") + 2) : part;
        const m = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
        if (m && !cursor) name = m[1];
        cursor = res.headers.get("x-next-cursor");
      } while (cursor);
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      a.download = name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      status("Downloaded " + name + ".");
    } catch (e) {
      status("");
      showError(e);
    }
  }

  // The tooltip of a bar, on hover and on keyboard focus.
  function tip(bar, x, y) {
    const t = $("tip");
    if (!bar) { t.hidden = true; return; }
    t.textContent = bar.dataset.tip;
    t.hidden = false;
    const r = bar.getBoundingClientRect();
    const left = x === undefined ? r.left : x + 12, top = y === undefined ? r.bottom + 6 : y + 14;
    t.style.left = Math.max(4, Math.min(left, window.innerWidth - t.offsetWidth - 4)) + "px";
    t.style.top = Math.min(top, window.innerHeight - t.offsetHeight - 4) + "px";
  }

  function wire() {
    $("pick-room").addEventListener("submit", (e) => {
      e.preventDefault();
      const room = $("room").value.trim();
      if (room) loadRoom(room, false);
    });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      setToken($("token").value.trim());
      $("token").value = "";
      if (state.room) loadRoom(state.room, false);
    });
    $("forget").addEventListener("click", () => setToken(""));
    $("session").addEventListener("change", (e) => showSession(e.target.value));
    $("older").addEventListener("click", () => loadRoom(state.room, true));
    $("csv").addEventListener("click", downloadCsv);
    $("attendees").tHead.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      const key = b.dataset.key;
      state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "duration" || key === "joins" ? -1 : 1 };
      renderTable();
    });
    const tl = $("timeline");
    tl.addEventListener("mousemove", (e) => tip(e.target.closest(".bar"), e.clientX, e.clientY));
    tl.addEventListener("mouseleave", () => tip(null));
    tl.addEventListener("focusin", (e) => tip(e.target.closest(".bar")));
    tl.addEventListener("focusout", () => tip(null));
    document.addEventListener("keydown", (e) => { if (e.key === "Escape") tip(null); });
    $("recordings").addEventListener("click", (e) => {
      const b = e.target.closest("button.asset");
      if (b) openAsset(b);
    });
    window.addEventListener("resize", () => { if (state.span && !$("view").hidden) renderAxis(state.span[0], state.span[1]); });
  }

  wire();
  takeTokenFromFragment();
  setToken(token());
  if (token()) $("auth").open = false; else $("auth").open = true;
  const room = new URLSearchParams(location.search).get("room_id");
  if (room) { $("room").value = room; loadRoom(room, false); }
})();
