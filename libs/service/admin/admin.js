// spacehook's admin UI: one page, hash routes, the JSON API under /admin/api. Every value that came from
// DocSpace or the database is put on the page as text (textContent), never as HTML.
"use strict";

const state = { csrf: null, name: null, paused: false, timer: null, busy: false, again: false };
const REFRESH_MS = 5000;
const $ = (sel) => document.querySelector(sel);

// el("tag", {attrs}, children...): strings become text nodes.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick" || k === "onsubmit" || k === "onchange") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

class Unauthorized extends Error {}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
  }
  const res = await fetch("/admin/api" + path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = { error: res.statusText }; }
  if (res.status === 401 && path !== "/login") throw new Unauthorized(data && data.error);
  return { status: res.status, data };
}

function when(iso) {
  if (!iso) return "-";
  const d = new Date(iso);
  return d.toLocaleString();
}

// "3 min ago", or "in 40 s" for a time still to come.
function ago(iso) {
  if (!iso) return "never";
  const d = Math.round((Date.now() - new Date(iso).getTime()) / 1000), s = Math.abs(d);
  const span = s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" : s < 86400 ? Math.round(s / 3600) + " h" : Math.round(s / 86400) + " d";
  return d < 0 ? "in " + span : span + " ago";
}

function table(id, headers, rows) {
  return el("div", { class: "table-wrap" },
    el("table", { id }, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

function stateCell(s) { return el("td", { class: "state state-" + s }, s); }

// ---- sign-in -------------------------------------------------------------------------------------------

function showSignIn(message) {
  stopTimer();
  state.csrf = null;
  $("#top").hidden = true;
  $("#view").replaceChildren();
  $("#signin-page").hidden = false;
  $("#signin-error").textContent = message || "";
  $("#token").focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const r = await api("POST", "/login", { token: $("#token").value, name: $("#name").value });
  if (r.status !== 200) {
    $("#signin-error").textContent = r.status === 429 ? "Too many wrong tokens: wait a minute and try again." : (r.data.error || "Sign-in failed");
    return;
  }
  $("#token").value = "";
  startSession(r.data);
}

function startSession(s) {
  state.csrf = s.csrf;
  state.name = s.name;
  $("#signin-page").hidden = true;
  $("#top").hidden = false;
  $("#who").textContent = s.name;
  if (!location.hash || location.hash === "#/" || location.hash === "#") location.hash = "#/overview";
  else render();
  startTimer();
}

async function signOut() {
  try { await api("POST", "/logout", {}); } catch (e) { /* signed out already */ }
  showSignIn("Signed out.");
}

// ---- live refresh --------------------------------------------------------------------------------------

function startTimer() {
  stopTimer();
  if (!state.paused) state.timer = setInterval(() => { if (!$("#confirm").open) render(true); }, REFRESH_MS);
}
function stopTimer() { if (state.timer) clearInterval(state.timer); state.timer = null; }
function togglePause() {
  state.paused = !state.paused;
  const b = $("#refresh-toggle");
  b.textContent = state.paused ? "Resume live refresh" : "Pause live refresh";
  b.setAttribute("aria-pressed", String(state.paused));
  startTimer();
}

// ---- confirmation --------------------------------------------------------------------------------------

function confirmAction(text) {
  const d = $("#confirm");
  $("#confirm-text").textContent = text;
  return new Promise((resolve) => {
    const done = (v) => { d.close(); $("#confirm-ok").onclick = null; $("#confirm-cancel").onclick = null; resolve(v); };
    $("#confirm-ok").onclick = () => done(true);
    $("#confirm-cancel").onclick = () => done(false);
    d.oncancel = () => done(false);
    d.showModal();
    $("#confirm-cancel").focus();
  });
}

// ---- routing -------------------------------------------------------------------------------------------

function route() {
  const h = location.hash.replace(/^#/, "") || "/overview";
  const [path, query] = h.split("?");
  return { path, params: new URLSearchParams(query || "") };
}

async function render(refresh) {
  // One render at a time; a navigation or an action during one renders again after it (a live refresh is dropped).
  if (state.busy) { if (!refresh) state.again = true; return; }
  const { path, params } = route();
  for (const a of document.querySelectorAll("header nav a"))
    a.toggleAttribute("aria-current", path.startsWith(a.getAttribute("href").slice(1)));
  document.querySelectorAll("header nav a[aria-current]").forEach((a) => a.setAttribute("aria-current", "page"));
  state.busy = true;
  try {
    let view;
    if (path === "/overview") view = await overview();
    else if (path === "/jobs") { if (refresh && params.get("before")) return; view = await jobs(params); }
    else if (path.startsWith("/jobs/")) view = await jobDetail(path.slice(6));
    else if (path === "/events") { if (refresh && params.get("before")) return; view = await events(params); }
    else if (path === "/rules") view = await rules();
    else if (path === "/activity") view = await activity();
    else view = el("p", {}, "No such page. ", el("a", { href: "#/overview" }, "Overview"));
    if (refresh && document.activeElement && $("#view").contains(document.activeElement)) return;  // keep the user's place
    $("#view").replaceChildren(view);
  } catch (e) {
    if (e instanceof Unauthorized) showSignIn("Your session has expired: sign in again.");
    else $("#view").replaceChildren(el("p", { class: "error" }, String(e.message || e)));
  } finally {
    state.busy = false;
    if (state.again) { state.again = false; render(); }
  }
}

// ---- overview ------------------------------------------------------------------------------------------

const STATES = ["queued", "running", "retrying", "succeeded", "skipped", "dead", "cancelled"];

function barChart(id, title, win, series, labels, span) {
  const n = win[series[0]].length;
  const max = Math.max(1, ...series.flatMap((s) => win[s]));
  const W = 300, H = 120, gap = 1, groupW = W / n, barW = Math.max(1, (groupW - 2) / series.length - gap);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const from = new Date(win.from).getTime();
  for (let i = 0; i < n; i++) {
    series.forEach((s, k) => {
      const v = win[s][i];
      const h = v === 0 ? 0 : Math.max(1, (v / max) * (H - 4));
      const r = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      r.setAttribute("x", String(i * groupW + 1 + k * (barW + gap)));
      r.setAttribute("y", String(H - h));
      r.setAttribute("width", String(barW));
      r.setAttribute("height", String(h));
      r.setAttribute("class", "s" + k);
      const t = document.createElementNS("http://www.w3.org/2000/svg", "title");
      t.textContent = `${labels[k]}: ${v} (${new Date(from + i * win.bucket_ms).toLocaleTimeString()})`;
      r.append(t);
      svg.append(r);
    });
  }
  const totals = series.map((s, k) => el("span", {}, el("i", { class: "s" + k }), `${labels[k]} ${win[s].reduce((a, b) => a + b, 0)}`));
  return el("div", { class: "chart", id }, el("strong", {}, title), svg,
    el("div", { class: "axis" }, el("span", {}, span + " ago"), el("span", {}, "now")), el("div", { class: "legend" }, totals));
}

async function overview() {
  const { data: s } = await api("GET", "/stats");
  const cards = STATES.map((st) => el("div", { class: "card " + st }, el("span", { class: "n", id: "stat-" + st }, s.by_state[st] ?? 0),
    el("span", { class: "label" }, st === "queued" || st === "retrying" || st === "running" ? st + " (queue)" : st)));
  const charts = [];
  for (const [key, label, span] of [["hour", "last hour", "1 h"], ["day", "last day", "24 h"]]) {
    const w = s.windows[key];
    charts.push(barChart("chart-deliveries-" + key, "Deliveries, " + label, w, ["accepted", "duplicate", "refused"],
      ["accepted", "duplicate", "refused"], span));
    charts.push(barChart("chart-jobs-" + key, "Jobs ended, " + label, w, ["succeeded", "dead"], ["succeeded", "dead"], span));
  }
  const hooks = s.webhooks.map((w) => el("tr", {},
    el("td", {}, w.path),
    el("td", { title: w.last_delivery || "" }, ago(w.last_delivery)),
    el("td", {}, w.docspace === null ? "unknown (no backfill pass yet)" : !w.docspace.listed ? "deleted in DocSpace"
      : w.docspace.enabled ? "enabled" : "DISABLED in DocSpace")));
  let backfill = el("p", { id: "backfill", class: "muted" }, "Backfill: no pass yet (it runs when docspace is configured).");
  if (s.backfill) {
    const b = s.backfill;
    backfill = el("p", { id: "backfill", class: b.error ? "error" : "" },
      `Backfill: last pass ${when(b.at)}: ${b.ingested} ingested, ${b.known} already stored, ${b.refused} refused, ${b.not_sent} not sent yet`,
      b.error ? ` (error: ${b.error})` : "");
  }
  return el("div", {},
    el("h1", {}, "Overview"),
    el("div", { class: "cards" }, cards),
    el("p", {}, "Earliest due job: ", el("span", { id: "oldest-due" }, s.oldest_due ? `due ${ago(s.oldest_due)} (${when(s.oldest_due)})` : "none"),
      s.by_state.dead > 0 ? el("span", {}, " · ", el("a", { href: "#/jobs?state=dead" }, `${s.by_state.dead} dead job(s)`)) : null),
    el("div", { class: "charts" }, charts),
    el("p", { class: "muted" }, "Accepted deliveries come from the database; duplicates and refusals are this instance's since it started."),
    el("h2", {}, "Webhook paths"),
    table("webhooks", ["Path", "Last delivery", "DocSpace webhook"], hooks),
    backfill);
}

// ---- jobs ----------------------------------------------------------------------------------------------

const FILTER_KEYS = ["state", "rule", "since", "until", "title", "error"];

function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d)) return "";
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function filterForm(params) {
  const f = {};
  for (const k of FILTER_KEYS) if (params.get(k)) f[k] = params.get(k);
  const input = (k, label, type) => el("label", {}, label,
    el("input", { id: "f-" + k, name: k, type: type || "text", value: type === "datetime-local" ? toLocalInput(f[k]) : (f[k] || "") }));
  const form = el("form", { class: "filters", id: "job-filter", role: "search" },
    el("label", {}, "State", el("select", { id: "f-state", name: "state" },
      el("option", { value: "" }, "any"), STATES.map((s) => el("option", { value: s, selected: f.state === s }, s)))),
    input("rule", "Rule"), input("title", "File title contains"), input("error", "Error contains"),
    input("since", "Created from", "datetime-local"), input("until", "Created before", "datetime-local"),
    el("button", { type: "submit", class: "primary", id: "apply" }, "Apply"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const k of FILTER_KEYS) {
      let v = form.elements[k].value.trim();
      if (v && (k === "since" || k === "until")) v = new Date(v).toISOString();
      if (v) q.set(k, v);
    }
    location.hash = "#/jobs" + (q.toString() ? "?" + q : "");
  });
  return { form, filter: f };
}

async function jobs(params) {
  const { form, filter } = filterForm(params);
  const q = new URLSearchParams(filter);
  if (params.get("before")) q.set("before", params.get("before"));
  const { data } = await api("GET", "/jobs?" + q);
  const rows = data.jobs.map((j) => el("tr", { "data-id": j.id },
    el("td", {}, el("a", { href: "#/jobs/" + j.id, class: "job-link" }, "#" + j.id)),
    el("td", { class: "wrap job-title" }, j.title ?? "-"), el("td", {}, j.rule), stateCell(j.state),
    el("td", {}, `${j.attempts}/${j.max_attempts}`), el("td", {}, when(j.updated_at)),
    el("td", { class: "wrap" }, j.last_error ?? "")));
  const next = new URLSearchParams(filter);
  if (data.next_before) next.set("before", data.next_before);
  const msg = el("p", { id: "bulk-result", role: "status" });
  const bulk = (kind) => async () => {
    const c = await api("GET", "/jobs/count?" + new URLSearchParams(filter));
    const n = c.data.count;
    if (!(await confirmAction(`${kind === "retry" ? "Retry" : "Cancel"} ${n} job(s) matching this filter?`))) return;
    const r = await api("POST", "/jobs/" + kind, { filter, expected: n });
    if (r.status === 200) { msg.className = "message"; msg.textContent = `${r.data.changed} of ${r.data.matched} job(s) ${kind === "retry" ? "queued again" : "cancelled"}.`; }
    else { msg.className = "error"; msg.textContent = r.data.error; }
    const keep = msg.textContent, cls = msg.className;
    await render();
    const m = $("#bulk-result"); if (m) { m.textContent = keep; m.className = cls; }
  };
  return el("div", {},
    el("h1", {}, "Jobs"), form,
    el("div", { class: "actions" },
      el("button", { type: "button", id: "bulk-retry", onclick: bulk("retry") }, "Retry all matching…"),
      el("button", { type: "button", id: "bulk-cancel", class: "danger", onclick: bulk("cancel") }, "Cancel all matching…"),
      params.get("before") ? el("a", { href: "#/jobs" + (Object.keys(filter).length ? "?" + new URLSearchParams(filter) : "") }, "Newest") : null,
      data.next_before ? el("a", { href: "#/jobs?" + next, id: "more" }, "Older →") : null),
    msg,
    table("jobs", ["Job", "File title", "Rule", "State", "Attempts", "Updated", "Last error"], rows),
    data.next_before && data.jobs.length < Number(q.get("limit") || 50)
      ? el("p", { class: "muted", id: "searched" }, `Searched jobs #${data.searched_from} down to #${data.searched_to}; older jobs were not searched yet: `,
          el("a", { href: "#/jobs?" + next }, "search older →"))
      : data.jobs.length === 0 ? el("p", { class: "muted", id: "no-jobs" }, "No job matches.") : null);
}

// A collapsible view of a JSON value, as text: the top two levels open.
function tree(key, v, depth) {
  const label = key === null ? [] : [el("span", { class: "k" }, JSON.stringify(key)), ": "];
  if (v !== null && typeof v === "object") {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    const d = el("details", { open: depth < 2 }, el("summary", {}, label, Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`));
    for (const [k, x] of entries) d.append(tree(Array.isArray(v) ? null : k, x, depth + 1));
    return d;
  }
  const cls = typeof v === "string" ? "str" : "num";
  return el("div", { class: "leaf" }, label, el("span", { class: cls }, JSON.stringify(v)));
}

async function jobDetail(id) {
  const r = await api("GET", "/jobs/" + encodeURIComponent(id));
  if (r.status !== 200) return el("p", { class: "error" }, r.data.error);
  const { job: j, event: e } = r.data;
  const msg = el("p", { id: "job-message", role: "status" });
  const act = (kind) => async () => {
    const res = await api("POST", `/jobs/${j.id}/${kind}`, {});
    await render();
    const m = $("#job-message");
    if (m) { m.className = res.status === 200 ? "message" : "error"; m.textContent = res.status === 200 ? `Job ${kind === "retry" ? "queued again" : "cancelled"}.` : res.data.error; }
  };
  const finished = ["dead", "cancelled", "skipped", "succeeded"].includes(j.state);
  let payload = el("p", { class: "muted" }, "The event's body was purged by retention.");
  if (e && e.body) {
    let parsed;
    try { parsed = JSON.parse(e.body); } catch (x) { parsed = e.body; }
    payload = el("div", { class: "tree", id: "payload" }, tree(null, parsed, 0));
  }
  const title = e && e.body ? (() => { try { return JSON.parse(e.body).payload.title; } catch (x) { return null; } })() : null;
  return el("div", {},
    el("h1", {}, `Job #${j.id}`),
    el("dl", { class: "facts" },
      el("dt", {}, "State"), el("dd", { id: "job-state", class: "state state-" + j.state }, j.state),
      el("dt", {}, "File"), el("dd", { id: "job-title" }, title ?? "-"),
      el("dt", {}, "Rule"), el("dd", {}, j.rule),
      el("dt", {}, "Attempts"), el("dd", { id: "job-attempts" }, `${j.attempts} of ${j.max_attempts}`),
      el("dt", {}, "Last error"), el("dd", { id: "job-error" }, j.last_error ?? "-"),
      el("dt", {}, "Due"), el("dd", {}, when(j.run_at)),
      el("dt", {}, "Created"), el("dd", {}, when(j.created_at)),
      el("dt", {}, "Updated"), el("dd", {}, when(j.updated_at)),
      el("dt", {}, "Event"), el("dd", {}, e ? `#${e.id} ${e.trigger} (${e.source}), received ${when(e.received_at)}` : "-")),
    el("div", { class: "actions" },
      el("button", { type: "button", id: "job-retry", class: "primary", disabled: !finished, onclick: act("retry") }, "Retry"),
      el("button", { type: "button", id: "job-cancel", class: "danger", disabled: !(j.state === "queued" || j.state === "retrying"), onclick: act("cancel") }, "Cancel"),
      el("a", { href: "#/jobs" }, "All jobs")),
    msg,
    el("h2", {}, "Steps"),
    j.steps.length ? table("steps", ["#", "Action", "State", "Result"], j.steps.map((s) => el("tr", {},
      el("td", {}, s.idx + 1), el("td", {}, s.action), stateCell(s.state), el("td", { class: "wrap" }, s.result ?? ""))))
      : el("p", { class: "muted" }, "No steps yet: the job has not run."),
    el("h2", {}, "Event payload"), payload);
}

// ---- events, rules, activity ---------------------------------------------------------------------------

async function events(params) {
  const q = new URLSearchParams();
  for (const k of ["trigger", "before"]) if (params.get(k)) q.set(k, params.get(k));
  const { data } = await api("GET", "/events?" + q);
  const msg = el("p", { id: "replay-result", role: "status" });
  const rows = data.events.map((e) => el("tr", { "data-id": e.id },
    el("td", {}, "#" + e.id), el("td", {}, e.trigger), el("td", {}, e.path), el("td", {}, e.source),
    el("td", {}, when(e.received_at)), el("td", {}, e.jobs),
    el("td", {}, el("button", { type: "button", class: "replay", onclick: async () => {
      if (!(await confirmAction(`Run the matching rules for event #${e.id} again?`))) return;
      const r = await api("POST", `/events/${e.id}/replay`, {});
      msg.className = r.status === 200 ? "message" : "error";
      msg.textContent = r.status === 200 ? `Event #${e.id}: ${r.data.created} job(s) created, ${r.data.requeued} queued again, ${r.data.busy} still pending or running.` : r.data.error;
    } }, "Replay"))));
  const next = new URLSearchParams(q);
  if (data.next_before) next.set("before", data.next_before);
  return el("div", {}, el("h1", {}, "Events"), msg,
    table("events", ["Event", "Trigger", "Path", "Source", "Received", "Jobs", ""], rows),
    data.next_before ? el("p", {}, el("a", { href: "#/events?" + next, id: "events-more" }, "Older →")) : null);
}

async function rules() {
  const { data } = await api("GET", "/rules");
  const counts = (c) => STATES.filter((s) => c[s]).map((s) => `${s} ${c[s]}`).join(", ") || "no jobs";
  const rows = data.rules.map((r) => el("tr", {},
    el("td", {}, el("a", { href: "#/jobs?rule=" + encodeURIComponent(r.name) }, r.name)),
    el("td", {}, r.on.join(", ")), el("td", { class: "wrap" }, r.if), el("td", { class: "wrap" }, r.do.join("; ")),
    el("td", { class: "wrap" }, counts(r.counts))));
  const gone = Object.entries(data.unconfigured);
  return el("div", {}, el("h1", {}, "Rules"),
    table("rules", ["Rule", "On", "If", "Do", "Jobs by state"], rows),
    gone.length ? el("div", {}, el("h2", {}, "Jobs of rules no longer configured"),
      table("old-rules", ["Rule", "Jobs by state"], gone.map(([n, c]) => el("tr", {}, el("td", {}, n), el("td", {}, counts(c)))))) : null);
}

async function activity() {
  const { data } = await api("GET", "/activity");
  const rows = data.activity.map((a) => {
    const { at, who, action, ...rest } = a;
    return el("tr", {}, el("td", {}, when(at)), el("td", {}, who), el("td", {}, action), el("td", { class: "wrap" }, JSON.stringify(rest)));
  });
  return el("div", {}, el("h1", {}, "Activity"),
    el("p", { class: "muted" }, "Actions taken in this UI or the admin API since this instance started; each is also in the service log (admin.action)."),
    table("activity", ["When", "Who", "Action", "Details"], rows));
}

// ---- start ---------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("#signin").addEventListener("submit", signIn);
  $("#signout").addEventListener("click", signOut);
  $("#refresh-toggle").addEventListener("click", togglePause);
  window.addEventListener("hashchange", () => { if (state.csrf) render(); });
  try {
    const r = await api("GET", "/session");
    startSession(r.data);
  } catch (e) {
    showSignIn("");
  }
});
