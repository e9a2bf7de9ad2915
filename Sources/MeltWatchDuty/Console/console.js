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
const HAZARD_CLASS_LABEL = { major: ["重大事故隐患", "major"], general: ["一般隐患", "general"] };
const HAZARD_STATUS_LABEL = {
  open: ["未整改", "open"], rectifying: ["整改中", "rectifying"], "awaiting-verification": ["待验收", "awaiting verification"],
  closed: ["已销号", "closed"],
};
const EVIDENCE_LABEL = { "trip-ok": "联锁按时动作", "healthy-24h": "信号正常24小时", "bypass-off-24h": "旁路解除24小时",
  "proof-test": "验证性试验", override: "负责人批准" };
const BEIJING_OFFSET_MS = 8 * 3600000;   // hazard dates follow the regulator's calendar: UTC+8, no daylight saving
const PROOF_TEST_MAX_MINUTES = 240;
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
  hazards: [], hazardsLoaded: false,
  hazardHistory: new Set(),   // hazard ids whose history is expanded: kept across re-renders
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
    fetchHazards();
  };
  es.onerror = () => {
    st.streamOpen = es.readyState === EventSource.OPEN;
    updateBanner();
    // CONNECTING means the browser retries by itself (with Last-Event-ID); CLOSED means it gave up
    // (e.g. a proxy answered with an error page), so we must start again ourselves.
    if (es.readyState === EventSource.CLOSED && st.es === es) setTimeout(() => { if (st.es === es) connect(); }, 5000);
  };
  const seen = () => { st.lastMessageAt = mono(); if (!st.streamOpen) { st.streamOpen = true; fetchAlarms(); fetchHazards(); } updateBanner(); };
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
  // A hazard opened, repeated, changed status, went overdue or got its data evidence: the list is the source of truth.
  es.addEventListener("hazard", () => { seen(); scheduleHazardFetch(); });
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

// `refresh`: what to re-fetch once the write went through (default: the alarm list).
async function post(path, body, button, refresh) {
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
      st.pendingRetry = () => post(path, body, button, refresh);
      setStatus("需要值班令牌，请输入后按回车 operator token required — enter it and press Enter", "err");
      return null;
    }
    if (!r.ok) {
      setStatus(`失败 failed (${r.status}): ${(data && data.error) || r.statusText}`, "err");
      return null;
    }
    (refresh || scheduleFetch)();
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

// ---------- hazards ----------
// 隐患 records the data opened (contract §5): the duty room records the rectification, asks for
// verification and closes them only when the data shows the fix (or a manager approves without it).
// Their times are read in Beijing time whatever zone the PC is set to: a 时限 is a Beijing day.
function beijing(ms) {
  const d = new Date(ms + BEIJING_OFFSET_MS);
  return { y: d.getUTCFullYear(), mo: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours(), mi: d.getUTCMinutes(), s: d.getUTCSeconds() };
}
const beijingDay = (p) => `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
// As formatTime shows alarm times (time only today, else month/day), in Beijing time; records live
// for weeks, so the year too when it is not this one.
function formatBeijing(iso) {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (isNaN(t)) return iso;
  const p = beijing(t), today = beijing(now());
  const hms = `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  if (p.y !== today.y) return `${p.y}/${p.mo}/${p.d} ${hms}`;
  return p.mo === today.mo && p.d === today.d ? hms : `${p.mo}/${p.d} ${hms}`;
}
// A 时限 typed as a day is due by 24:00 Beijing of that day, which the API gives as the next day's 00:00.
function formatDeadline(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return iso || "—";
  const p = beijing(t);
  if (p.h === 0 && p.mi === 0 && p.s === 0) return `${beijingDay(beijing(t - 1))} 24:00`;
  return `${beijingDay(p)} ${pad(p.h)}:${pad(p.mi)}`;
}
const deadlineDay = (iso) => { const t = Date.parse(iso); return isNaN(t) ? null : beijingDay(beijing(t - 1)); };

let hazardTimer = null;
function scheduleHazardFetch() { clearTimeout(hazardTimer); hazardTimer = setTimeout(fetchHazards, 150); }

let hazardSeq = 0;
async function fetchHazards() {
  const seq = ++hazardSeq;
  try {
    const list = await getJSON("api/hazards?status=all");
    if (seq !== hazardSeq) return;   // an older, slower answer must not overwrite a newer one
    st.hazards = Array.isArray(list) ? list : [];
    st.hazardsLoaded = true;
    $("hazard-error").textContent = "";
    $("hazards").classList.remove("stale");
    renderHazards();
  } catch (err) {
    if (seq !== hazardSeq) return;
    $("hazard-error").textContent = `— 获取失败 cannot load (${err.message})`;
    $("hazards").classList.add("stale");
  }
}

// Overdue first, then major before general, oldest found first; closed ones (when shown) last.
function sortHazards(list) {
  const rank = (h) => (h.status === "closed" ? 4 : 0) + (h.overdue ? 0 : 2) + (h.class === "major" ? 0 : 1);
  return [...list].sort((a, b) => rank(a) - rank(b) || (Date.parse(a.found_at) || 0) - (Date.parse(b.found_at) || 0) ||
    String(a.id).localeCompare(String(b.id)));
}
// What the API accepts in each status (a closed record does not change).
const canRectify = (h) => ["open", "rectifying", "awaiting-verification"].includes(h.status);
const canSubmit = (h) => h.status === "rectifying";
const canClose = (h) => h.status === "awaiting-verification";

function evidenceCell(h) {
  // Closed: the evidence it was closed on. Otherwise: what the data shows already, or what it still has to show.
  const v = h.status === "closed" ? h.verification : h.verification_available;
  if (v) {
    return el("td", { class: "evidence " + (v.kind === "override" ? "ev-override" : "ev-ok"), "data-label": "数据验证 evidence" },
      v.detail || v.kind, el("small", null, ` (${EVIDENCE_LABEL[v.kind] || v.kind} ${formatBeijing(v.at)})`));
  }
  if (h.status === "closed") return el("td", { class: "evidence", "data-label": "数据验证 evidence" }, "—");
  const needed = Array.isArray(h.evidence_needed) ? h.evidence_needed : [];
  const zh = needed.map((k) => EVIDENCE_LABEL[k]).filter(Boolean);
  return el("td", { class: "evidence ev-pending", "data-label": "数据验证 evidence" },
    "待数据验证: " + needed.join(", "), zh.length ? el("small", null, ` (${zh.join(" 或 ")})`) : null);
}

function buildHazardRow(h) {
  const late = h.overdue && h.status !== "closed";   // a closed record is never overdue, whatever a stale flag says
  const cls = ["hazard", "hs-" + h.status, h.class === "major" ? "major" : "general", late ? "overdue" : null].filter(Boolean).join(" ");
  const statusCell = el("td", { class: "hstatus", "data-label": "状态 status" },
    el("span", { class: "state" }, zhEn(HAZARD_STATUS_LABEL[h.status] || [h.status || "?", ""])));
  if (late) statusCell.append(el("span", { class: "badge overdue" }, "已超期 overdue"));
  if (h.status === "closed") statusCell.append(el("span", { class: "who" }, `销号 ${h.closed_by || "?"} ${formatBeijing(h.closed_at)}`));

  const r = h.rectification;
  const rectCell = el("td", { class: "rectification", "data-label": "整改 rectification" });
  if (r) rectCell.append(el("div", { class: "responsible" }, "责任人 ", r.responsible),
    el("div", { class: late ? "deadline late" : "deadline" }, "时限 ", formatDeadline(r.deadline)));
  else rectCell.append("—");

  const actions = el("td", { class: "actions", "data-label": "操作 actions" });
  const button = (c, zh, en, onclick) => el("button", { class: c, type: "button", onclick }, zh + " ", el("span", { class: "en" }, en));
  if (canRectify(h)) actions.append(button("hz-rectify", "整改措施", "rectification", () => toggleHazardForm(h.id, "rectify")));
  if (canSubmit(h)) actions.append(button("hz-submit", "申请验收", "submit", (e) => submitHazard(h.id, e.currentTarget)));
  if (canClose(h)) actions.append(button("hz-close", "销号", "close", (e) => closeHazard(h.id, e.currentTarget)));
  // Without data evidence only a manager's token closes it (the API answers 403 otherwise).
  if (canRectify(h)) actions.append(button("hz-override", "负责人批准销号", "manager override", () => toggleHazardForm(h.id, "override")));
  const n = Array.isArray(h.history) ? h.history.length : 0;
  const history = button("hz-history", `历史 (${n})`, "history", () => toggleHazardHistory(h.id));
  history.setAttribute("aria-expanded", st.hazardHistory.has(h.id) ? "true" : "false");
  actions.append(history);

  return el("tr", { class: cls, "data-hazard-id": h.id, "data-status": h.status, "data-class": h.class, "data-overdue": late ? "true" : "false" },
    el("td", { class: "hid", "data-label": "编号 等级 id, class" }, el("span", { class: "hid-text" }, h.id),
      el("span", { class: "hclass " + (h.class === "major" ? "major" : "general") }, zhEn(HAZARD_CLASS_LABEL[h.class] || [h.class || "?", ""]))),
    statusCell,
    el("td", { class: "plant", "data-label": "企业 设备 plant, equipment" }, st.plants[h.plant] || h.plant, el("div", { class: "equipment" }, h.equipment || "—")),
    el("td", { class: "found", "data-label": "发现 found" }, formatBeijing(h.found_at),
      h.occurrences > 1 ? el("small", { class: "who" }, `共 ${h.occurrences} 次 occurrences`) : null),
    el("td", { class: "description", "data-label": "隐患描述 description" }, h.description || "—"),
    el("td", { class: "basis", "data-label": "判定依据 basis" }, h.basis || "—"),
    rectCell,
    evidenceCell(h),
    actions);
}

function buildHazardHistory(h) {
  const entries = (Array.isArray(h.history) ? h.history : []).map((c) => el("li", null,
    el("span", { class: "at" }, formatBeijing(c.at)), " ", el("span", { class: "by" }, c.by), " ", el("span", { class: "what" }, c.what), " ",
    el("small", { class: "hs" }, (HAZARD_STATUS_LABEL[c.status] || [c.status])[0])));
  const ev = h.evidence || {};
  const alarms = Array.isArray(ev.alarm_ids) && ev.alarm_ids.length
    ? el("div", { class: "who" }, `关联报警 alarms (${formatBeijing(ev.from)} – ${formatBeijing(ev.to)}): ${ev.alarm_ids.join(", ")}`) : null;
  return el("tr", { class: "hazard-history" }, el("td", { colspan: 9 },
    entries.length ? el("ol", null, entries) : el("div", null, "无记录 no history"), alarms));
}

const hazardGroup = (id) => [...$("hazard-list").tBodies].find((b) => b.dataset.group === id);

// As the alarms: each record is its own <tbody> (row, optional history, optional form), rebuilt only
// when its data changed, so the 15 s refresh does not wipe a half-typed rectification.
function renderHazards() {
  const table = $("hazard-list");
  const showClosed = $("hazard-show-closed").checked;
  const shown = sortHazards(st.hazards.filter((h) => showClosed || h.status !== "closed"));
  const groups = new Map([...table.querySelectorAll("tbody[data-group]")].map((g) => [g.dataset.group, g]));
  let anchor = table.tHead;
  for (const h of shown) {
    const sig = JSON.stringify(h) + (st.plants[h.plant] || "") + st.hazardHistory.has(h.id);
    let g = groups.get(h.id);
    groups.delete(h.id);
    if (!g) g = el("tbody", { "data-group": h.id });
    if (g.dataset.sig !== sig) {
      const row = buildHazardRow(h);
      const old = g.querySelector("tr.hazard");
      if (old) old.replaceWith(row); else g.prepend(row);
      g.dataset.sig = sig;
      const history = g.querySelector("tr.hazard-history");
      if (st.hazardHistory.has(h.id)) {
        const fresh = buildHazardHistory(h);
        if (history) history.replaceWith(fresh); else row.after(fresh);
      } else if (history) history.remove();
      // A form whose action the new status no longer offers goes (e.g. closed meanwhile elsewhere).
      for (const f of g.querySelectorAll("tr.hazard-form")) if (!row.querySelector(".hz-" + f.dataset.form)) f.remove();
    }
    if (anchor.nextElementSibling !== g) anchor.after(g);   // move only when the order changed (keeps focus)
    anchor = g;
  }
  for (const g of groups.values()) g.remove();
  $("hazard-empty").hidden = !st.hazardsLoaded || shown.length > 0;

  const open = st.hazards.filter((h) => h.status !== "closed");
  const major = open.filter((h) => h.class === "major").length, overdue = open.filter((h) => h.overdue).length;
  const closed = st.hazards.length - open.length;
  $("hazard-count").textContent = !st.hazardsLoaded ? "" : `— 未销号 ${open.length} 条` + (major ? `，重大 ${major} 条` : "") +
    (overdue ? `，已超期 ${overdue} 条` : "") + (closed ? `；已销号 ${closed} 条` : "");
  $("hazard-count").classList.toggle("late", overdue > 0);
  renderProofTests(open);
}

function toggleHazardHistory(id) {
  if (st.hazardHistory.has(id)) st.hazardHistory.delete(id); else st.hazardHistory.add(id);
  renderHazards();
}

function toggleHazardForm(id, kind) {
  const g = hazardGroup(id);
  const h = st.hazards.find((x) => x.id === id);
  if (!g || !h) return;
  const existing = g.querySelector("tr.hazard-form");
  if (existing) {
    existing.remove();
    if (existing.dataset.form === kind) return;
  }
  const form = kind === "rectify" ? rectificationForm(h) : overrideForm(h);
  g.append(el("tr", { class: "hazard-form", "data-form": kind }, el("td", { colspan: 9 }, form)));
  form.querySelector("input, textarea").focus();
}

// 整改措施: the five things the regulator's form asks for (责任、措施、资金、时限、预案); filled in from
// the current rectification when there is one (e.g. to extend the 时限).
function rectificationForm(h) {
  const r = h.rectification || {};
  const input = (name, attrs) => el("input", { name, autocomplete: "off", placeholder: "必填 required", value: r[name] || null, ...attrs });
  const text = (name) => el("textarea", { name, rows: 2, placeholder: "必填 required" }, r[name] || "");
  const fields = {
    responsible: input("responsible"), measures: text("measures"), funds: input("funds"),
    deadline: input("deadline", { type: "date", placeholder: "YYYY-MM-DD", value: r.deadline ? deadlineDay(r.deadline) : null }),
    plan: text("plan"),
  };
  const submit = el("button", { type: "submit", class: "rectify-submit" }, "记录整改措施 ", el("span", { class: "en" }, "record"));
  const labels = [["responsible", "责任人"], ["measures", "措施"], ["funds", "资金"], ["deadline", "时限"], ["plan", "预案"]];
  const form = el("form", { class: "rectify", onsubmit: (e) => { e.preventDefault(); rectify(h.id, fields, submit); } },
    labels.map(([k, zh]) => el("label", { class: "f-" + k }, zh + " ", el("span", { class: "en" }, (k === "deadline" ? "deadline, by 24:00 Beijing" : k) + " "), fields[k])),
    el("div", { class: "form-buttons" }, submit, " ",
      el("button", { type: "button", onclick: () => form.closest("tr").remove() }, "取消 ", el("span", { class: "en" }, "cancel"))));
  return form;
}

function overrideForm(h) {
  const reason = el("input", { name: "override_reason", autocomplete: "off", placeholder: "必填 required" });
  const submit = el("button", { type: "submit", class: "override-submit" }, "批准销号 ", el("span", { class: "en" }, "close without data evidence"));
  const form = el("form", { class: "override", onsubmit: (e) => { e.preventDefault(); overrideClose(h.id, reason, submit); } },
    el("label", null, "理由 ", el("span", { class: "en" }, "reason "), reason),
    submit, " ",
    el("button", { type: "button", onclick: () => form.closest("tr").remove() }, "取消 ", el("span", { class: "en" }, "cancel")),
    el("div", { class: "who" }, "无数据验证的销号须由负责人批准（负责人令牌） closing without data evidence needs a manager's token"));
  return form;
}

const hazardPath = (id, verb) => `api/hazards/${encodeURIComponent(id)}/${verb}`;
// A refused write (409: no evidence from the data yet, or closed meanwhile) often means the list on
// screen is behind: it is re-fetched either way.
async function hazardWrite(path, body, button) {
  const h = await post(path, body, button, scheduleHazardFetch);
  if (!h) scheduleHazardFetch();
  return h;
}
function withNote(body) {
  const note = ui.note.value.trim();
  if (note) body.note = note;
  return body;
}

async function rectify(id, fields, button) {
  const operator = operatorName();
  if (!operator) return;
  const body = { operator };
  for (const [k, zh] of [["responsible", "责任人"], ["measures", "措施"], ["funds", "资金"], ["deadline", "时限"], ["plan", "预案"]]) {
    const value = fields[k].value.trim();
    if (!value) { fields[k].focus(); setStatus(`请填写${zh} ${k} is required`, "err"); return; }
    body[k] = value;
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(body.deadline)) {
    fields.deadline.focus();
    setStatus("时限须为日期 YYYY-MM-DD deadline must be a date", "err");
    return;
  }
  const h = await hazardWrite(hazardPath(id, "rectification"), body, button);
  if (h) {
    button.closest("tr")?.remove();
    setStatus(`已记录整改措施 rectification recorded: ${id}`, "ok");
  }
}

async function submitHazard(id, button) {
  const operator = operatorName();
  if (!operator) return;
  const h = await hazardWrite(hazardPath(id, "submit"), withNote({ operator }), button);
  if (h) {
    ui.note.value = "";   // a note belongs to one step, not to the next one
    setStatus(`已申请验收 submitted for verification: ${id}`, "ok");
  }
}

async function closeHazard(id, button) {
  const operator = operatorName();
  if (!operator) return;
  const h = await hazardWrite(hazardPath(id, "close"), withNote({ operator }), button);
  if (h) {
    ui.note.value = "";
    setStatus(`已销号 closed: ${id}`, "ok");
  }
}

async function overrideClose(id, reasonInput, button) {
  const operator = operatorName();
  if (!operator) return;
  const reason = reasonInput.value.trim();
  if (!reason) { reasonInput.focus(); setStatus("负责人批准销号必须填写理由 a reason is required to close without data evidence", "err"); return; }
  const body = withNote({ operator });
  body.override_reason = reason;
  const h = await hazardWrite(hazardPath(id, "close"), body, button);
  if (h) {
    ui.note.value = "";
    reasonInput.closest("tr")?.remove();
    setStatus(`已批准销号 closed by manager override: ${id}`, "ok");
  }
}

// 验证性试验: one control per equipment with a hazard not closed. Trips of its interlock during the
// test count as the test's, so a test trip that acts in time becomes the data evidence.
function renderProofTests(open) {
  const equipment = new Map();
  for (const h of open) {
    const key = JSON.stringify([h.plant, h.equipment]);
    if (!equipment.has(key)) equipment.set(key, h);
  }
  const list = $("proof-test-list");
  const forms = new Map([...list.children].map((f) => [f.dataset.key, f]));
  let prev = null;
  for (const key of [...equipment.keys()].sort()) {
    const h = equipment.get(key);
    let f = forms.get(key);
    forms.delete(key);
    if (!f) f = buildProofTest(h.plant, h.equipment, key);
    f.querySelector(".where").textContent = `${st.plants[h.plant] || h.plant} / ${h.equipment}`;   // names may arrive later
    const expected = prev ? prev.nextElementSibling : list.firstElementChild;
    if (expected !== f) { if (prev) prev.after(f); else list.prepend(f); }   // move only when needed (keeps focus)
    prev = f;
  }
  for (const f of forms.values()) f.remove();
  $("proof-tests").hidden = equipment.size === 0;
}

function buildProofTest(plant, equipment, key) {
  const minutes = el("input", { name: "minutes", type: "number", min: 1, max: PROOF_TEST_MAX_MINUTES, step: 1, value: 30, inputmode: "numeric" });
  const submit = el("button", { type: "submit", class: "proof-test-submit" }, "开始试验 ", el("span", { class: "en" }, "start test"));
  // novalidate: the range is checked in proofTest, so the refusal shows in the status line, in words.
  return el("form", { class: "proof-test", "data-key": key, "data-plant": plant, "data-equipment": equipment, novalidate: "",
    onsubmit: (e) => { e.preventDefault(); proofTest(plant, equipment, minutes, submit); } },
    el("span", { class: "where" }), " ",
    el("label", null, "时长 ", el("span", { class: "en" }, "minutes "), minutes, " 分钟"), " ", submit);
}

async function proofTest(plant, equipment, minutesInput, button) {
  const operator = operatorName();
  if (!operator) return;
  const minutes = Number(minutesInput.value);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > PROOF_TEST_MAX_MINUTES) {
    minutesInput.focus();
    setStatus(`试验时长须为 1–${PROOF_TEST_MAX_MINUTES} 分钟 minutes must be 1–${PROOF_TEST_MAX_MINUTES}`, "err");
    return;
  }
  const path = `api/equipment/${encodeURIComponent(plant)}/${encodeURIComponent(equipment)}/proof-test`;
  const r = await hazardWrite(path, { operator, minutes }, button);
  if (r) setStatus(`验证性试验已开始 ${minutes} 分钟 proof test started: ${st.plants[plant] || plant} / ${equipment}`, "ok");
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
    renderHazards();
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
$("hazard-show-closed").addEventListener("change", renderHazards);
soundButtonState();
fetchStatus();
fetchAlarms();
fetchSignals();
fetchMaintenance();
fetchHazards();
setInterval(fetchSignals, 10000);
setInterval(fetchHazards, 15000);   // as for alarms: a lost hazard event must not leave a wrong list for long
setInterval(fetchAlarms, 30000);   // safety net: a lost event must not leave a wrong list on the wall for long
setInterval(tick, 1000);
tick();
connect();
