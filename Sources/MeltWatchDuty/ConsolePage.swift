/// The duty console (`GET /`): one self-contained page (no CDN, works offline) the duty room keeps open on a wall screen.
enum ConsolePage {
    static let html: String = #"""
<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MeltWatch 值班台</title>
<link rel="icon" href="data:,">  <!-- no favicon request: the page must need nothing but itself -->
<style>
/* Wall-screen first: read from several metres away, so big type, dark background and
   colour used only for meaning (ISA-101: grey is normal, colour is an abnormal condition). */
:root {
  --bg: #111417; --panel: #1b1f24; --line: #2e343b; --text: #e8ecf0; --muted: #8f9aa5;
  --emergency: #ff3030; --high: #ff8c1a; --medium: #ffd21a; --low: #2ec8ff; --ok: #3ddc84;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 22px/1.35 "Noto Sans CJK SC", "Noto Sans SC", sans-serif; padding: 0 20px 24px; }
small, .en { font-size: 0.62em; color: var(--muted); font-weight: normal; }
button, input, select { font: inherit; font-size: 0.9em; color: var(--text); background: #262c33;
  border: 1px solid #4a535d; border-radius: 6px; padding: 4px 12px; }
button { cursor: pointer; }
button:hover { background: #323a43; }
button:disabled { opacity: 0.5; cursor: wait; }
input:focus, select:focus, button:focus-visible { outline: 3px solid var(--low); outline-offset: 1px; }

header { display: flex; align-items: center; gap: 28px; padding: 12px 0 10px; border-bottom: 2px solid var(--line); }
header h1 { margin: 0; font-size: 1.7em; white-space: nowrap; }
#plants { flex: 1; color: var(--muted); font-size: 1.05em; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
#clock { font-size: 1.9em; font-variant-numeric: tabular-nums; font-weight: bold; letter-spacing: 1px; }
#conn { white-space: nowrap; font-weight: bold; }
#conn.up { color: var(--ok); }
#conn.down { color: var(--emergency); }

#controls { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 18px; padding: 10px 0; }
#controls label { display: flex; align-items: center; gap: 8px; }
#operator { width: 9em; }
#note { width: 16em; }
#token { width: 14em; }
#sound[data-state="on"] { color: var(--ok); border-color: var(--ok); }
#sound.remind { animation: blink 1s steps(1) infinite; border-color: var(--emergency); }
#status { flex: 1; min-width: 12em; min-height: 1.4em; font-weight: bold; }
#status.ok { color: var(--ok); }
#status.err { color: var(--emergency); }

/* The banner must be impossible to miss: a console showing stale data looks exactly like a
   quiet plant, which is the most dangerous thing this page could do. */
#connection-banner { background: var(--emergency); color: #fff; font-size: 1.45em; font-weight: bold;
  padding: 10px 18px; border-radius: 6px; margin: 4px 0 8px; }
#banner-detail { display: block; font-size: 0.6em; font-weight: normal; }
main.stale #alarms-wrap { opacity: 0.45; }

h2 { font-size: 1.15em; margin: 14px 0 6px; color: var(--muted); font-weight: normal; }
h2 b { color: var(--text); }
table { width: 100%; border-collapse: collapse; }
/* Fixed layout: the message column gets whatever the fixed columns leave, and rows do not jump
   sideways when an alarm with a long plant name arrives. */
#alarms { table-layout: fixed; }
#alarms td { overflow-wrap: anywhere; }
#alarms td.plant { word-break: keep-all; }   /* break "南通铝业 铸造车间" at the space, not mid-word */
th { text-align: left; font-weight: normal; color: var(--muted); font-size: 0.85em; padding: 4px 10px;
  border-bottom: 2px solid var(--line); vertical-align: bottom; }
th small { display: block; font-size: 0.72em; }
td { padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
#alarms td.message { font-size: 1.05em; }
#alarms td.basis { font-size: 0.85em; color: #c9d1d9; }
#alarms td.age { font-variant-numeric: tabular-nums; white-space: nowrap; font-size: 1.1em; }
#alarms td.actions button { display: block; width: 100%; margin: 0 0 6px; }
td.prio { white-space: nowrap; }
.chip { display: inline-block; width: 100%; text-align: center; padding: 2px 6px; border-radius: 4px;
  font-weight: bold; color: #000; font-size: 1.1em; line-height: 1.2; }
.chip small { display: block; color: #000; opacity: 0.8; }
.badge { display: inline-block; margin: 2px 6px 0 0; padding: 0 8px; border-radius: 4px; font-size: 0.75em;
  border: 1px solid currentColor; white-space: nowrap; }
.badge.escalated { color: var(--emergency); font-weight: bold; }
.badge.latched { color: var(--high); }
.who { display: block; font-size: 0.72em; color: var(--muted); font-weight: normal; white-space: normal; }

/* Priority: colour on the chip and a thick left edge, so the column scans in one glance. */
tr.alarm { border-left: 10px solid transparent; }
tr.p-emergency { border-left-color: var(--emergency); } tr.p-emergency .chip { background: var(--emergency); color: #fff; }
tr.p-emergency .chip small { color: #fff; }
tr.p-high { border-left-color: var(--high); } tr.p-high .chip { background: var(--high); }
tr.p-medium { border-left-color: var(--medium); } tr.p-medium .chip { background: var(--medium); }
tr.p-low { border-left-color: var(--low); } tr.p-low .chip { background: var(--low); }

/* Unacknowledged = needs a human: the chip flashes and the row is outlined. Acknowledged rows
   are steady so the eye goes to what still needs action. */
tr.unacked .chip { animation: blink 1s steps(1) infinite; }
tr.unacked td { background: #20252b; }
tr.unacked.p-emergency td { box-shadow: inset 0 2px 0 var(--emergency), inset 0 -2px 0 var(--emergency); }
tr.unacked.p-high td { box-shadow: inset 0 2px 0 var(--high), inset 0 -2px 0 var(--high); }
tr.unacked.p-medium td { box-shadow: inset 0 2px 0 var(--medium), inset 0 -2px 0 var(--medium); }
tr.unacked.p-low td { box-shadow: inset 0 2px 0 var(--low), inset 0 -2px 0 var(--low); }
/* Returned to normal but not yet acknowledged: still needs a click, but the danger has passed,
   so dimmer, slower and dashed rather than solid. */
tr.s-rtn-unacked td { opacity: 0.72; background: transparent; box-shadow: none !important; }
tr.s-rtn-unacked .chip { animation-duration: 2.4s; }
tr.s-rtn-unacked { border-left-style: dashed; }
tr.s-shelved td, tr.s-suppressed td, tr.s-out-of-service td { opacity: 0.55; }
@keyframes blink { 50% { opacity: 0.25; } }
@media (prefers-reduced-motion: reduce) {
  tr.unacked .chip, #sound.remind { animation: none; outline: 3px solid #fff; }
}
.state { font-weight: bold; white-space: nowrap; }
.state small { display: block; }

tr.shelve-form td { background: #171b20; border-left: 10px solid #4a535d; }
tr.shelve-form label { margin-right: 14px; }
tr.shelve-form input[name="reason"] { width: 24em; }

#empty { color: var(--ok); font-size: 2em; font-weight: bold; padding: 36px 10px; text-align: center;
  border: 2px solid #24583b; border-radius: 8px; margin-top: 8px; }
#empty[hidden] { display: none; }

#signals, #maintenance { margin-top: 26px; border-top: 2px solid var(--line); }
#signal-summary td, #signal-summary th { text-align: right; font-variant-numeric: tabular-nums; }
#signal-summary td:first-child, #signal-summary th:first-child { text-align: left; }
#signal-list, #maintenance-list { font-size: 0.85em; }
.h-ok { color: var(--ok); } .h-stale { color: var(--high); } .h-frozen { color: var(--low); }
.h-bad { color: var(--emergency); } .h-unknown { color: var(--muted); }
.zero { color: #4a535d; }
#signal-error { color: var(--emergency); }
</style>
</head>
<body>
<header>
  <h1>MeltWatch 值班台 <span class="en">duty console</span></h1>
  <div id="plants">—</div>
  <div id="conn" class="down">● 连接中 <span class="en">connecting</span></div>
  <div id="clock">--:--:--</div>
</header>

<div id="controls">
  <label>值班员 <span class="en">operator</span> <input id="operator" autocomplete="off"></label>
  <label>备注 <span class="en">note</span> <input id="note" autocomplete="off" placeholder="可选 optional"></label>
  <label id="token-label" hidden>值班令牌 <span class="en">token</span> <input id="token" type="password" autocomplete="off"></label>
  <button id="sound" type="button" data-state="off">启用声音 <span class="en">enable sound</span></button>
  <div id="status" role="status" aria-live="polite"></div>
</div>

<div id="connection-banner" role="alert" hidden>连接中断 connection lost <span id="banner-detail"></span></div>

<main id="main">
  <h2><b>活动报警</b> active alarms <span id="alarm-count"></span></h2>
  <div id="alarms-wrap">
    <table id="alarms">
      <colgroup><col style="width:6.2em"><col style="width:7.4em"><col style="width:7.6em"><col style="width:6.4em">
        <col><col style="width:8em"><col style="width:5.6em"><col style="width:7.2em"></colgroup>
      <thead><tr>
        <th>优先级<small>priority</small></th><th>状态<small>state</small></th><th>企业<small>plant</small></th>
        <th>设备<small>equipment</small></th><th>报警<small>message</small></th><th>判定依据<small>basis</small></th>
        <th>持续<small>age</small></th><th>操作<small>actions</small></th>
      </tr></thead>
    </table>
    <div id="empty" hidden>无活动报警 <span class="en">no active alarms</span></div>
  </div>

  <section id="maintenance">
    <h2><b>停用检修设备</b> out of service <span id="maintenance-count"></span></h2>
    <table id="maintenance-list">
      <thead><tr><th>企业<small>plant</small></th><th>设备<small>equipment</small></th><th>经办人<small>by</small></th>
        <th>原因<small>reason</small></th><th>起<small>since</small></th><th>至<small>until</small></th></tr></thead>
      <tbody></tbody>
    </table>
  </section>

  <section id="signals">
    <h2><b>信号健康</b> signal health <span id="signal-error"></span></h2>
    <table id="signal-summary">
      <thead><tr><th>企业<small>plant</small></th><th>正常<small>ok</small></th><th>过时<small>stale</small></th>
        <th>冻结<small>frozen</small></th><th>坏值<small>bad</small></th><th>未知<small>unknown</small></th></tr></thead>
      <tbody></tbody>
    </table>
    <table id="signal-list">
      <thead><tr><th>企业<small>plant</small></th><th>设备<small>equipment</small></th><th>信号<small>role</small></th>
        <th>健康<small>health</small></th><th>值<small>value</small></th><th>最后事件<small>last event</small></th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>

<script>
"use strict";
// All URLs are relative so the console keeps working when the daemon sits behind a path prefix.
const PRIORITY_RANK = { emergency: 0, high: 1, medium: 2, low: 3 };
const PRIORITY_LABEL = { emergency: ["紧急", "emergency"], high: ["高", "high"], medium: ["中", "medium"], low: ["低", "low"] };
const STATE_LABEL = {
  "active-unacked": ["报警未确认", "active, unacked"], "active-acked": ["报警已确认", "active, acked"],
  "rtn-unacked": ["已恢复未确认", "returned, unacked"], "normal": ["正常", "normal"],
  "shelved": ["已搁置", "shelved"], "suppressed": ["已抑制", "suppressed"], "out-of-service": ["停用检修", "out of service"],
};
const HEALTH = ["ok", "stale", "frozen", "bad", "unknown"];
const HEALTH_LABEL = { ok: "正常", stale: "过时", frozen: "冻结", bad: "坏值", unknown: "未知" };
const STALE_AFTER_MS = 40000;   // heartbeat is every 15 s; two missed plus slack means the stream is dead
const RECONNECT_AFTER_MS = 45000;

const $ = (id) => document.getElementById(id);
const ui = { operator: $("operator"), note: $("note"), token: $("token"), status: $("status"), banner: $("connection-banner") };
const st = {
  plants: {},          // id -> display name, from api/status
  alarms: [], alarmsLoaded: false,   // never claim "no active alarms" before the list has actually loaded
  es: null, streamOpen: false, lastMessageAt: 0,
  alarmsFailed: false,
  clockOffset: 0,      // server time − browser time, from heartbeats: ages must not depend on the wall PC's clock
  pendingRetry: null,  // the POST to repeat once a token has been entered
  audio: null, beeped: new Set(),
};

// Build DOM with textContent only: alarm messages come from plant data and must never be parsed as HTML.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const zhEn = (pair) => [pair[0], el("small", null, " " + pair[1])];
const now = () => Date.now() + st.clockOffset;
// Stream liveness uses a monotonic clock: a clock correction from a heartbeat must not fake or hide silence.
const mono = () => performance.now();
const pad = (n) => String(n).padStart(2, "0");

function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60, sec = s % 60;
  if (d > 0) return `${d}天${h}时`;
  if (h > 0) return `${h}时${pad(m)}分`;
  if (m > 0) return `${m}分${pad(sec)}秒`;
  return `${sec}秒`;
}
function formatTime(iso) {
  if (!iso) return "—";
  const t = new Date(iso);
  if (isNaN(t)) return iso;
  const today = new Date(now()).toDateString() === t.toDateString();
  const hms = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  return today ? hms : `${t.getMonth() + 1}/${t.getDate()} ${hms}`;
}

let statusTimer = null;
function setStatus(text, kind) {
  ui.status.textContent = text;
  ui.status.className = kind || "";
  clearTimeout(statusTimer);
  // Errors stay longer: the operator may have looked away from the screen when it happened.
  statusTimer = setTimeout(() => { ui.status.textContent = ""; ui.status.className = ""; }, kind === "err" ? 20000 : 8000);
}

async function getJSON(url) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 8000);   // a hung daemon must show as a failure, not as silence
  try {
    const r = await fetch(url, { cache: "no-store", signal: ctl.signal });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return await r.json();
  } finally { clearTimeout(t); }
}

// ---------- connection state ----------
function updateBanner() {
  const silent = st.streamOpen && mono() - st.lastMessageAt > STALE_AFTER_MS;
  const reasons = [];
  if (!st.streamOpen) reasons.push("事件流断开 event stream down");
  else if (silent) reasons.push("40秒无心跳 no heartbeat for 40 s");
  if (st.alarmsFailed) reasons.push("报警列表获取失败 cannot load alarms");
  const down = reasons.length > 0;
  ui.banner.hidden = !down;
  $("banner-detail").textContent = down ? reasons.join("；") + "。画面数据可能已过时 data on screen may be outdated" : "";
  $("main").classList.toggle("stale", down);
  const conn = $("conn");
  conn.className = down ? "down" : "up";
  conn.replaceChildren(...(down ? ["● 中断 ", el("span", { class: "en" }, "down")] : ["● 在线 ", el("span", { class: "en" }, "live")]));
}

function connect() {
  if (st.es) st.es.close();
  const es = new EventSource("api/events");
  st.es = es;
  es.onopen = () => {
    st.streamOpen = true;
    st.lastMessageAt = mono();
    updateBanner();
    fetchAlarms();   // we may have missed events while disconnected; the list is the source of truth
  };
  es.onerror = () => {
    st.streamOpen = es.readyState === EventSource.OPEN;
    updateBanner();
    // CONNECTING means the browser retries by itself (with Last-Event-ID); CLOSED means it gave up
    // (e.g. a proxy answered with an error page), so we must start again ourselves.
    if (es.readyState === EventSource.CLOSED && st.es === es) setTimeout(() => { if (st.es === es) connect(); }, 5000);
  };
  const seen = () => { st.lastMessageAt = mono(); if (!st.streamOpen) { st.streamOpen = true; fetchAlarms(); } updateBanner(); };
  es.addEventListener("heartbeat", (e) => {
    try {
      const t = Date.parse(JSON.parse(e.data).time);
      if (!isNaN(t)) st.clockOffset = t - Date.now();
    } catch (_) { /* a malformed heartbeat still proves the stream is alive */ }
    seen();
  });
  es.addEventListener("alarm", (e) => {
    seen();
    scheduleFetch();   // first: nothing below (audio included) may stop the list from updating
    let ev = null;
    try { ev = JSON.parse(e.data); } catch (_) { /* still re-fetch below */ }
    if (ev && ev.event === "raised" && ev.priority === "emergency" && !st.beeped.has(ev.event_id || e.lastEventId)) {
      if (st.beeped.size > 500) st.beeped.clear();
      st.beeped.add(ev.event_id || e.lastEventId);
      try { alertSound(); } catch (err) { setStatus(`报警声失败 alarm sound failed: ${err.message}`, "err"); }
    }
  });
  es.onmessage = seen;
}

// ---------- alarms ----------
let fetchTimer = null;
// A burst of events (e.g. a trip raising ten alarms) becomes one fetch.
function scheduleFetch() { clearTimeout(fetchTimer); fetchTimer = setTimeout(fetchAlarms, 150); }

let fetchSeq = 0;
async function fetchAlarms() {
  const seq = ++fetchSeq;
  try {
    const list = await getJSON("api/alarms?state=active");
    if (seq !== fetchSeq) return;   // an older, slower answer must not overwrite a newer one
    st.alarms = Array.isArray(list) ? list : [];
    st.alarmsLoaded = true;
    fetchMaintenance();   // a maintenance switch restates the equipment's alarms: same moment
    st.alarmsFailed = false;
    renderAlarms();
  } catch (err) {
    if (seq !== fetchSeq) return;
    st.alarmsFailed = true;
  }
  updateBanner();
}

function sortAlarms(list) {
  const rank = (a) => PRIORITY_RANK[a.priority] ?? 9;
  return [...list].sort((a, b) => rank(a) - rank(b) || (Date.parse(a.raised_at) || 0) - (Date.parse(b.raised_at) || 0));
}
const isUnacked = (a) => a.state === "active-unacked" || a.state === "rtn-unacked";

function buildRow(a) {
  const p = PRIORITY_RANK[a.priority] !== undefined ? a.priority : "unknown";
  const cls = ["alarm", p, "p-" + p, "s-" + a.state, isUnacked(a) ? "unacked" : "acked"].join(" ");
  const stateCell = el("td", { class: "state" }, zhEn(STATE_LABEL[a.state] || [a.state, ""]));
  if (a.acknowledged_by) stateCell.append(el("span", { class: "who" }, `确认 ${a.acknowledged_by} ${formatTime(a.acknowledged_at)}`));
  if (a.state === "shelved" && a.shelved_by)
    stateCell.append(el("span", { class: "who" }, `${a.shelved_by} 至 ${formatTime(a.shelved_until)}`, a.shelve_reason ? `：${a.shelve_reason}` : ""));
  if (a.state === "out-of-service" && a.out_of_service_by)
    stateCell.append(el("span", { class: "who" }, a.out_of_service_by, a.out_of_service_reason ? `：${a.out_of_service_reason}` : "",
      a.out_of_service_until ? ` 至 ${formatTime(a.out_of_service_until)}` : ""));

  const actions = el("td", { class: "actions" });
  if (isUnacked(a)) actions.append(el("button", { class: "ack", type: "button", onclick: () => ack(a.alarm_id) }, "确认 ", el("span", { class: "en" }, "ack")));
  // A latched interlock failure must stay in view until it is fixed and reset, and an emergency alarm
  // is never a nuisance to hide (its limit is fixed in the config): the API refuses both (409).
  if (!a.latched && a.priority !== "emergency" && ["active-unacked", "active-acked", "rtn-unacked"].includes(a.state))
    actions.append(el("button", { class: "shelve", type: "button", onclick: () => toggleShelveForm(a.alarm_id) }, "搁置 ", el("span", { class: "en" }, "shelve")));
  if (a.state === "shelved")
    actions.append(el("button", { class: "unshelve", type: "button", onclick: () => unshelve(a.alarm_id) }, "取消搁置 ", el("span", { class: "en" }, "unshelve")));

  return el("tr", { class: cls, "data-alarm-id": a.alarm_id, "data-state": a.state, "data-priority": a.priority },
    el("td", { class: "prio" }, el("span", { class: "chip" }, zhEn(PRIORITY_LABEL[a.priority] || [a.priority || "?", ""]))),
    stateCell,
    el("td", { class: "plant" }, st.plants[a.plant] || a.plant),
    el("td", { class: "equipment" }, a.equipment || "—"),
    el("td", { class: "message" }, a.message || a.rule || "—",
      el("div", null,
        a.escalated ? el("span", { class: "badge escalated" }, "已升级 escalated") : null,
        a.latched ? el("span", { class: "badge latched" }, "联锁锁定 latched") : null)),
    el("td", { class: "basis" }, a.basis || "—"),
    el("td", { class: "age", "data-raised": a.raised_at || "" }, a.raised_at ? formatAge(now() - Date.parse(a.raised_at)) : "—"),
    actions);
}

// Each alarm is its own <tbody> (row + optional shelve form) and is only rebuilt when its data
// changed, so a re-render after an unrelated event does not wipe a half-typed shelve reason.
function renderAlarms() {
  const table = $("alarms");
  const groups = new Map([...table.querySelectorAll("tbody[data-group]")].map((g) => [g.dataset.group, g]));
  const sorted = sortAlarms(st.alarms);
  let anchor = table.tHead;
  for (const a of sorted) {
    const sig = JSON.stringify(a) + (st.plants[a.plant] || "");
    let g = groups.get(a.alarm_id);
    groups.delete(a.alarm_id);
    if (!g) { g = el("tbody", { "data-group": a.alarm_id }); }
    if (g.dataset.sig !== sig) {
      const row = buildRow(a);
      const old = g.querySelector("tr.alarm");
      if (old) old.replaceWith(row); else g.prepend(row);
      g.dataset.sig = sig;
      const form = g.querySelector("tr.shelve-form");
      if (form && !row.querySelector(".shelve")) form.remove();
    }
    if (anchor.nextElementSibling !== g) anchor.after(g);   // move only when the order changed (keeps focus)
    anchor = g;
  }
  for (const g of groups.values()) g.remove();
  $("empty").hidden = !st.alarmsLoaded || sorted.length > 0;
  const unacked = sorted.filter(isUnacked).length;
  $("alarm-count").textContent = sorted.length ? `— 共 ${sorted.length} 条，未确认 ${unacked} 条` : "";
}

function toggleShelveForm(id) {
  const g = [...$("alarms").tBodies].find((b) => b.dataset.group === id);
  if (!g) return;
  const existing = g.querySelector("tr.shelve-form");
  if (existing) { existing.remove(); return; }
  const minutes = el("select", { name: "minutes" }, [15, 30, 60, 120, 480].map((m) => el("option", { value: m, selected: m === 30 }, `${m} 分钟`)));
  const reason = el("input", { name: "reason", autocomplete: "off", placeholder: "必填 required" });
  const submit = el("button", { type: "submit", class: "shelve-submit" }, "搁置 ", el("span", { class: "en" }, "shelve"));
  const form = el("form", { onsubmit: (e) => { e.preventDefault(); shelve(id, Number(minutes.value), reason, submit); } },
    el("label", null, "时长 ", el("span", { class: "en" }, "duration "), minutes),
    el("label", null, "原因 ", el("span", { class: "en" }, "reason "), reason),
    submit, " ",
    el("button", { type: "button", onclick: () => form.closest("tr").remove() }, "取消 ", el("span", { class: "en" }, "cancel")));
  g.append(el("tr", { class: "shelve-form" }, el("td", { colspan: 8 }, form)));
  reason.focus();
}

// ---------- operator actions ----------
function operatorName() {
  const name = ui.operator.value.trim();
  if (!name) {
    ui.operator.focus();
    setStatus("请先填写值班员姓名 enter the operator name first", "err");
  }
  return name;
}

async function post(path, body, button) {
  const headers = { "Content-Type": "application/json" };
  const token = localStorage.getItem("meltwatch.token");
  if (token) headers["Authorization"] = "Bearer " + token;
  if (button) button.disabled = true;
  try {
    const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
    let data = null;
    try { data = await r.json(); } catch (_) { /* error pages from proxies are not JSON */ }
    if (r.status === 401) {
      $("token-label").hidden = false;
      ui.token.focus();
      st.pendingRetry = () => post(path, body, button);
      setStatus("需要值班令牌，请输入后按回车 operator token required — enter it and press Enter", "err");
      return null;
    }
    if (!r.ok) {
      setStatus(`失败 failed (${r.status}): ${(data && data.error) || r.statusText}`, "err");
      return null;
    }
    scheduleFetch();
    return data || {};
  } catch (err) {
    setStatus(`请求失败 request failed: ${err.message}`, "err");
    return null;
  } finally {
    if (button && button.isConnected) button.disabled = false;
  }
}
const alarmPath = (id, verb) => `api/alarms/${encodeURIComponent(id)}/${verb}`;
const buttonFor = (id, cls) => [...document.querySelectorAll("tr.alarm")].find((r) => r.dataset.alarmId === id)?.querySelector(cls);

async function ack(id) {
  const operator = operatorName();
  if (!operator) return;
  const body = { operator };
  const note = ui.note.value.trim();
  if (note) body.note = note;
  const a = await post(alarmPath(id, "ack"), body, buttonFor(id, ".ack"));
  if (a) {
    ui.note.value = "";   // a note belongs to one acknowledgement, not to the next one
    setStatus(`已确认 acknowledged: ${a.message || id}`, "ok");
  }
}

async function shelve(id, minutes, reasonInput, button) {
  const operator = operatorName();
  if (!operator) return;
  const reason = reasonInput.value.trim();
  if (!reason) { reasonInput.focus(); setStatus("搁置必须填写原因 a reason is required to shelve", "err"); return; }
  const a = await post(alarmPath(id, "shelve"), { operator, minutes, reason }, button);
  if (a) {
    reasonInput.closest("tr")?.remove();
    setStatus(`已搁置 ${minutes} 分钟 shelved: ${a.message || id}`, "ok");
  }
}

async function unshelve(id) {
  const operator = operatorName();
  if (!operator) return;
  const a = await post(alarmPath(id, "unshelve"), { operator }, buttonFor(id, ".unshelve"));
  if (a) setStatus(`已取消搁置 unshelved: ${a.message || id}`, "ok");
}

// ---------- sound ----------
// Browsers only allow audio after a user gesture, so the wall screen needs one click after load.
function soundButtonState() {
  const on = st.audio && st.audio.state === "running";
  const b = $("sound");
  b.dataset.state = on ? "on" : "off";
  b.replaceChildren(...(on ? ["声音已启用 ", el("span", { class: "en" }, "sound on")] : ["启用声音 ", el("span", { class: "en" }, "enable sound")]));
  if (on) b.classList.remove("remind");
}
function beep(pattern) {
  const ctx = st.audio;
  let t = ctx.currentTime + 0.05;
  for (const [freq, dur] of pattern) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square";
    osc.frequency.value = freq;
    // Short ramps avoid the click of a hard on/off edge.
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.25, t + 0.01);
    gain.gain.setValueAtTime(0.25, t + dur - 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + dur);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t); osc.stop(t + dur + 0.01);
    t += dur + 0.08;
  }
}
function alertSound() {
  if (!st.audio || st.audio.state !== "running") { $("sound").classList.add("remind"); return; }
  // Three rising/falling pulses, twice: distinct from any single-tone notification a PC might make.
  const pulse = [[988, 0.18], [740, 0.18], [988, 0.18]];
  beep([...pulse, [1, 0.25], ...pulse]);
}
$("sound").addEventListener("click", async () => {
  try {
    st.audio = st.audio || new (window.AudioContext || window.webkitAudioContext)();
    await st.audio.resume();
    beep([[880, 0.12]]);   // audible confirmation that the speakers work
  } catch (err) { setStatus(`无法启用声音 cannot enable sound: ${err.message}`, "err"); }
  soundButtonState();
});

// ---------- signals ----------
const HEALTH_ORDER = { bad: 0, frozen: 1, stale: 2, unknown: 3, ok: 4 };
async function fetchSignals() {
  try {
    const list = await getJSON("api/signals");
    $("signal-error").textContent = "";
    renderSignals(Array.isArray(list) ? list : []);
  } catch (err) {
    $("signal-error").textContent = `— 获取失败 cannot load (${err.message})`;
  }
}
function renderSignals(list) {
  const byPlant = new Map();
  for (const s of list) {
    if (!byPlant.has(s.plant)) byPlant.set(s.plant, Object.fromEntries(HEALTH.map((h) => [h, 0])));
    const c = byPlant.get(s.plant);
    c[HEALTH.includes(s.health) ? s.health : "unknown"]++;
  }
  $("signal-summary").tBodies[0].replaceChildren(...[...byPlant].map(([plant, c]) =>
    el("tr", null, el("td", null, st.plants[plant] || plant),
      HEALTH.map((h) => el("td", { class: c[h] ? "h-" + h : "zero" }, c[h])))));
  const bad = list.filter((s) => s.health !== "ok").sort((a, b) =>
    (HEALTH_ORDER[a.health] ?? 3) - (HEALTH_ORDER[b.health] ?? 3) || String(a.plant).localeCompare(b.plant) ||
    String(a.equipment).localeCompare(b.equipment) || String(a.role).localeCompare(b.role));
  const rows = bad.map((s) => el("tr", null,
    el("td", null, st.plants[s.plant] || s.plant), el("td", null, s.equipment), el("td", null, s.role),
    el("td", { class: "h-" + (HEALTH.includes(s.health) ? s.health : "unknown") }, `${HEALTH_LABEL[s.health] || s.health} `, el("small", null, s.health)),
    el("td", null, s.value === null || s.value === undefined ? "—" : String(s.value), s.quality && s.quality !== "good" ? el("small", null, ` (${s.quality})`) : null),
    el("td", null, formatTime(s.event_time), s.event_time ? el("small", null, ` ${formatAge(now() - Date.parse(s.event_time))}前`) : null)));
  if (!rows.length) rows.push(el("tr", null, el("td", { colspan: 6, class: "h-ok" }, list.length ? "全部信号正常 all signals ok" : "无信号 no signals")));
  $("signal-list").tBodies[0].replaceChildren(...rows);
}

// ---------- out of service ----------
// Equipment in maintenance is not annunciated: the wall must show which, by whom, and until when.
async function fetchMaintenance() {
  try {
    const list = await getJSON("api/equipment?state=out-of-service");
    const items = Array.isArray(list) ? list : [];
    $("maintenance-count").textContent = items.length ? `(${items.length})` : "";
    const rows = items.map((m) => el("tr", null,
      el("td", null, st.plants[m.plant] || m.plant), el("td", null, m.equipment), el("td", null, m.operator),
      el("td", null, m.reason), el("td", null, formatTime(m.since)), el("td", null, formatTime(m.until))));
    if (!rows.length) rows.push(el("tr", null, el("td", { colspan: 6, class: "h-ok" }, "无停用设备 none")));
    $("maintenance-list").tBodies[0].replaceChildren(...rows);
  } catch (err) {
    $("maintenance-count").textContent = `— 获取失败 cannot load (${err.message})`;
  }
}

// ---------- status / clock ----------
async function fetchStatus() {
  try {
    const s = await getJSON("api/status");
    st.plants = Object.fromEntries((s.plants || []).map((p) => [p.id, p.name || p.id]));
    $("plants").textContent = (s.plants || []).map((p) => p.name || p.id).join(" · ") || "—";
    $("plants").title = `MeltWatch ${s.version || ""} ${s.config_hash || ""}`;
    renderAlarms();
  } catch (_) {
    setTimeout(fetchStatus, 10000);   // names are cosmetic; ids are shown meanwhile
  }
}

function tick() {
  const d = new Date(now());
  $("clock").textContent = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  for (const td of document.querySelectorAll("#alarms td.age[data-raised]")) {
    const t = Date.parse(td.dataset.raised);
    if (!isNaN(t)) td.textContent = formatAge(now() - t);
  }
  updateBanner();
  // A half-open TCP connection never errors; force a fresh stream if it has gone quiet.
  if (st.streamOpen && mono() - st.lastMessageAt > RECONNECT_AFTER_MS) { st.streamOpen = false; connect(); }
}

// ---------- start ----------
ui.operator.value = localStorage.getItem("meltwatch.operator") || "";
ui.operator.addEventListener("input", () => localStorage.setItem("meltwatch.operator", ui.operator.value.trim()));
ui.token.addEventListener("change", () => localStorage.setItem("meltwatch.token", ui.token.value.trim()));
ui.token.addEventListener("keydown", (e) => {
  if (e.key !== "Enter") return;
  localStorage.setItem("meltwatch.token", ui.token.value.trim());
  const retry = st.pendingRetry;
  st.pendingRetry = null;
  if (retry) retry().then((a) => { if (a) setStatus("已完成 done", "ok"); });
});
soundButtonState();
fetchStatus();
fetchAlarms();
fetchSignals();
fetchMaintenance();
setInterval(fetchSignals, 10000);
setInterval(fetchAlarms, 30000);   // safety net: a lost event must not leave a wrong list on the wall for long
setInterval(tick, 1000);
tick();
connect();
</script>
</body>
</html>
"""#
}
