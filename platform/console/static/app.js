// Sluice console: a single-page app over the serving node's /v1 HTTP API
// (docs/api.md) and its WebSocket consume endpoint (docs/websocket.md).
// Plain modern JavaScript, no framework, no build step, nothing loaded
// from elsewhere. Every view is a <section> of index.html; the active one
// reloads from the API on a timer. Data from the API only ever reaches
// the page as text (textContent), never as HTML.
"use strict";

// Groups the topic page describes to show their lag (one request each).
const GROUP_DETAIL_LIMIT = 100;
// How long one API call may take before the page gives up on it.
const API_TIMEOUT_MS = 35000;
// Records the live tail lets the server send ahead of what it has shown.
const TAIL_CREDIT = 200;
// Longest key or value text shown in a cell; the full text is in its tooltip.
const CELL_TEXT_MAX = 400;

// ---------------------------------------------------------------- helpers

const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;
const intFmt = new Intl.NumberFormat("en-US");

// h builds an element: h("td", {class: "num", "data-col": "hw"}, "42").
// Children are nodes or text; null, undefined and false are skipped.
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function fmtInt(v) { return v == null ? "" : intFmt.format(v); }

// plural: plural(3, "record") is "3 records".
function plural(n, word) { return `${fmtInt(n)} ${word}${n === 1 ? "" : "s"}`; }

function fmtBytes(n) {
  if (n == null || n < 0) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}

function pad(n, w = 2) { return String(n).padStart(w, "0"); }

function clock(d) {
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

// fmtTime shows a time in ms since the epoch as local date and time, to
// the millisecond (records) or the second (uploads).
function fmtTime(ms, millis = true) {
  if (!ms) return "";
  const d = new Date(ms);
  const t = clock(d);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${millis ? t : t.slice(0, 8)}`;
}

// cell is a table cell named by data-col, so tests and people can find it.
function cell(col, content, props = {}) {
  return h("td", { "data-col": col, ...props }, content);
}

// numCell shows an offset-like number; negative values mean the API could
// not learn it (for example the partition's leader is unreachable).
function numCell(col, v, unknownHint = "unknown: the leader did not answer") {
  if (v == null || v < 0) return cell(col, "?", { class: "num bad", title: unknownHint, "data-value": v });
  return cell(col, fmtInt(v), { class: "num", "data-value": v });
}

// table wraps rows in a table with a header row. cols: [title, {num, help}].
function table(cols, rows, empty = "None.", props = {}) {
  const head = h("tr", null, cols.map((c) => {
    const [title, o = {}] = Array.isArray(c) ? c : [c];
    return h("th", { class: o.num ? "num" : null, title: o.help }, title);
  }));
  const body = h("tbody", null, rows);
  if (rows.length === 0) body.append(h("tr", null, h("td", { colspan: cols.length, class: "empty" }, empty)));
  return h("div", { class: "table-wrap" }, h("table", { class: "grid", ...props }, h("thead", null, head), body));
}

// Paging and sorting state of the topic and group tables.
const PAGE_SIZE = 50;
const topicsPage = { offset: 0, limit: PAGE_SIZE, sort: "name", order: "asc" };
const groupsPage = { offset: 0, limit: PAGE_SIZE, sort: "group", order: "asc" };

// sortedTable is table() whose columns with a sort key sort it: a click
// on the header sorts by it, a second click reverses the order.
function sortedTable(cols, rows, empty, props, st, reload) {
  const t = table(cols, rows, empty, props);
  const ths = t.querySelectorAll("thead th");
  cols.forEach((c, i) => {
    const o = Array.isArray(c) ? c[1] || {} : {};
    if (!o.sort) return;
    const th = ths[i];
    th.classList.add("sortable");
    th.dataset.sort = o.sort;
    if (st.sort === o.sort) {
      th.classList.add("sorted");
      th.dataset.order = st.order;
      th.append(st.order === "desc" ? " ▼" : " ▲");
    }
    th.addEventListener("click", () => {
      st.order = st.sort === o.sort && st.order === "asc" ? "desc" : "asc";
      st.sort = o.sort;
      st.offset = 0;
      reload();
    });
  });
  return t;
}

// pager shows "rows a–b of n" with previous/next buttons.
function pager(id, st, matched, reload) {
  const first = matched ? st.offset + 1 : 0, last = Math.min(st.offset + st.limit, matched);
  // The step is taken from the state at click time (the load clamps an
  // offset past the end back to the last page).
  const go = (dir) => () => { st.offset = Math.max(0, st.offset + dir * st.limit); reload(); };
  return h("div", { class: "pager", id },
    h("button", { type: "button", class: "prev", disabled: st.offset === 0, onclick: go(-1) }, "◀ previous"),
    h("span", { class: "range" }, `${fmtInt(first)}–${fmtInt(last)} of ${fmtInt(matched)}`),
    h("button", { type: "button", class: "next", disabled: last >= matched, onclick: go(1) }, "next ▶"));
}

// kv is a dense grid of labelled facts: [[label, value, {cls, col}], ...].
function kv(pairs) {
  return h("div", { class: "kv" }, pairs.map(([k, v, o = {}]) =>
    h("div", { class: "kv-item", "data-field": o.col },
      h("div", { class: "k" }, k),
      h("div", { class: `v ${o.cls || ""}` }, v))));
}

function badge(text, cls = "", title) { return h("span", { class: `badge ${cls}`, title }, text); }

function stateBadge(state) {
  const cls = { alive: "ok", stable: "ok", failed: "bad", dead: "bad", left: "muted", empty: "muted", rebalancing: "warn" }[state] || "";
  return badge(state, cls);
}

function topicLink(name) { return h("a", { href: `#/topics/${enc(name)}` }, name); }
function groupLink(name) { return h("a", { href: `#/groups/${enc(name)}` }, name); }
function pluginLink(name) { return h("a", { href: `#/plugins/${enc(name)}` }, name); }

// usedByLinks turns "topic:orders" references into links.
function usedByLinks(refs) {
  if (!refs || refs.length === 0) return h("span", { class: "muted" }, "nothing");
  return refs.map((r, i) => [i ? ", " : "", r.startsWith("topic:") ? topicLink(r.slice(6)) : r]);
}

function paramsText(params) {
  const e = Object.entries(params || {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(", ") : "";
}

// ---------------------------------------------------------------- API

// ApiError is a failed API call, shown as "GET /v1/x: code: message".
class ApiError extends Error {
  constructor(path, status, code, message, method = "GET") {
    super(`${method} ${path}: ${code}: ${message}`);
    this.path = path;
    this.method = method;
    this.apiMessage = message;
    this.status = status;
    this.code = code;
  }
}

// The API token of this tab (sessionStorage: gone when the tab closes,
// never shared with other tabs or sent as a cookie).
const TOKEN_KEY = "sluice.token";

function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

function setToken(t) {
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lives until the page reloads */ }
  $("#signout").hidden = !t;
  showWhoAmI();
}

// showWhoAmI names the signed-in principal in the header.
function showWhoAmI() {
  const el = $("#whoami");
  if (!token()) { el.hidden = true; return; }
  api("/v1/whoami").then((w) => {
    el.textContent = w.principal ? `signed in as ${w.principal}` : "";
    el.hidden = !w.principal;
  }, () => { el.hidden = true; });
}

// showSignin asks for a token after the node answered 401.
function showSignin(message) {
  const form = $("#signin");
  $("#signin-message").textContent = message || "";
  if (form.hidden) {
    form.hidden = false;
    $("#signin-token").focus();
  }
}

function signin(ev) {
  ev.preventDefault();
  const t = $("#signin-token").value.trim();
  if (!t) return;
  setToken(t);
  $("#signin-token").value = "";
  $("#signin").hidden = true;
  api("/v1/cluster").then(showIdentity, () => { /* the view reports errors */ });
  refresh();
}

function signout() {
  setToken("");
  showSignin("Signed out.");
  refresh();
}

// api calls the node's API: GET by default; opts.method, opts.json (a
// value sent as a JSON body) or opts.body with opts.type (raw bytes).
// An answer without a body (204) is {}.
async function api(path, opts = {}) {
  let res;
  const method = opts.method || "GET";
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = opts.type || "application/octet-stream";
    body = opts.body;
  }
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store", signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  } catch (e) {
    const why = e.name === "TimeoutError" ? `no answer within ${API_TIMEOUT_MS / 1000} s` : `the node did not answer (${e.message})`;
    throw new ApiError(path, 0, "unreachable", why, method);
  }
  const text = await res.text();
  body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* shown below */ }
  if (res.status === 401) {
    showSignin(t ? "The token was not accepted." : "");
  }
  if (!res.ok) {
    const e = body && body.error;
    throw new ApiError(path, res.status, (e && e.code) || `http_${res.status}`,
      (e && e.message) || text.slice(0, 300) || res.statusText, method);
  }
  if (body === null && res.status === 204) return {};
  if (body === null) throw new ApiError(path, res.status, "bad_answer", "the answer is not JSON", method);
  return body;
}

// settle runs calls in parallel; failures go to errs (except those ignore
// accepts) and their results are left out.
async function settle(calls, errs, ignore = () => false) {
  const out = await Promise.allSettled(calls);
  return out.map((r) => {
    if (r.status === "fulfilled") return r.value;
    if (!ignore(r.reason)) errs.push(r.reason);
    return null;
  });
}

// topicStats sums a described topic's partitions.
function topicStats(t) {
  const s = { hw: 0, logEnd: 0, records: 0, bytes: 0, under: 0, offline: 0, unknown: 0, leaders: new Set() };
  for (const p of t.partitions) {
    if (p.leader < 0) s.offline++; else s.leaders.add(p.leader);
    if (p.isr.length < p.replicas.length) s.under++;
    if (p.high_watermark < 0) { s.unknown++; continue; }
    s.hw += p.high_watermark;
    s.logEnd += p.log_end;
    s.records += p.high_watermark - p.log_start;
    s.bytes += Math.max(p.log_bytes || 0, 0);
  }
  return s;
}

// groupLag is the lag of a group's offsets, lag = high watermark −
// committed offset (from the log start where nothing is committed).
function groupLag(offsets, topic) {
  let total = 0;
  for (const o of offsets || []) if (!topic || o.topic === topic) total += Math.max(o.lag, 0);
  return total;
}

// ---------------------------------------------------------------- views

const views = {
  cluster: {
    async load(route, errs) {
      // One call each, in parallel: the cluster, the totals over every
      // topic (the page of rows is not used), leader balance and moves in
      // progress (cluster administration), the node's history. The page
      // still shows the rest when the last three cannot be had.
      const soft = (p) => p.catch((e) => { errs.push(e); return null; });
      const [cluster, page, health, moves, history] = await Promise.all([
        api("/v1/cluster"),
        api("/v1/cluster/topics?limit=1&internal=true"),
        soft(api("/v1/cluster/health")),
        soft(api("/v1/partitions/reassignments")),
        soft(api("/v1/stats/history")),
      ]);
      return { cluster, totals: page.totals, health, moves, history };
    },
    render({ cluster: c, totals, health, moves, history }) {
      showIdentity(c);
      const { partitions, under_replicated: under, offline } = totals;
      const leads = new Map(totals.brokers.map((b) => [b.id, b.leads]));
      const replicas = new Map(totals.brokers.map((b) => [b.id, b.replicas]));
      const alive = c.brokers.filter((b) => b.state === "alive" && !b.fenced).length;
      const internal = totals.internal;
      const ctl = c.controller.leader >= 0
        ? [`node ${c.controller.leader}`, c.controller.leader_addr ? h("span", { class: "muted" }, ` ${c.controller.leader_addr}`) : ""]
        : h("span", { class: "bad" }, "none: the controllers have no quorum");
      const balance = new Map(((health && health.brokers) || []).map((b) => [b.id, b]));
      const brokers = c.brokers.map((b) => h("tr", { "data-broker": b.id },
        cell("id", [h("span", null, String(b.id)),
          b.id === c.controller.leader ? badge("controller", "info", "the active controller (raft leader)") : "",
          b.id === c.node_id ? badge("this node", "muted", "the node serving this page") : ""]),
        cell("roles", b.roles.join(", ")),
        cell("state", [stateBadge(b.state), b.fenced ? badge("fenced", "bad", "fenced by the controller") : ""]),
        numCell("leads", leads.get(b.id) || 0),
        numCell("preferred", balance.has(b.id) ? balance.get(b.id).preferred : null, "unknown: no cluster health"),
        numCell("not-leading", balance.has(b.id) ? balance.get(b.id).not_leading : null, "unknown: no cluster health"),
        numCell("replicas", replicas.get(b.id) || 0),
        cell("http", /^https?:\/\//.test(b.http_addr || "") ? h("a", { href: b.http_addr + "/", title: "this node's console" }, b.http_addr) : (b.http_addr || "")),
        cell("raft", b.raft_addr || "", { class: "mono" }),
        cell("serf", b.serf_addr || "", { class: "mono" }),
        cell("rack", b.rack || ""),
      ));
      return [
        h("h1", null, "Cluster"),
        kv([
          ["Cluster ID", c.cluster_id, { cls: "mono" }],
          ["Active controller", ctl, { col: "controller" }],
          ["Controller voters", (c.controller.voters || []).join(", ") || "—"],
          ["Metadata version", fmtInt(c.metadata_version)],
          ["Brokers alive", `${alive} of ${c.brokers.length}`, { cls: alive < c.brokers.length ? "warn" : "" }],
          ["Topics", `${fmtInt(totals.topics - internal)}` + (internal ? ` (+${internal} internal)` : ""), { col: "topics" }],
          ["Partitions", fmtInt(partitions)],
          ["Under-replicated", fmtInt(under), { cls: under ? "warn" : "", col: "under-replicated" }],
          ["Offline", fmtInt(offline), { cls: offline ? "bad" : "", col: "offline" }],
          ["Not led by preferred replica", health ? fmtInt(health.partitions.not_preferred_leader) : "—",
            { cls: health && health.partitions.not_preferred_leader ? "warn" : "", col: "not-preferred" }],
          ["Reassigning", moves ? fmtInt(moves.reassignments.length) : "—", { col: "reassigning" }],
        ]),
        h("h2", null, "Throughput and lag (this node)"),
        history ? charts(history) : h("p", { class: "muted" }, "No history: see the error above."),
        h("h2", null, "Nodes"),
        table(["ID", "Roles", "State", ["Leads", { num: true, help: "partitions this broker leads" }],
          ["Preferred", { num: true, help: "partitions whose first (preferred) replica this broker is" }],
          ["Not leading", { num: true, help: "of those, partitions another replica leads: `sluice partition elect-leader` moves them back" }],
          ["Replicas", { num: true, help: "partition replicas this broker holds" }], "HTTP", "Raft", "Serf", "Rack"],
        brokers, "No nodes known.", { id: "brokers" }),
        // Spread: the view's list is flattened one level only.
        ...(moves && moves.reassignments.length ? [
          h("h2", null, "Reassignments in progress"),
          table(["Partition", "Leader", "Target", "Adding", "Removing", "ISR",
            ["Behind", { num: true, help: "offsets the slowest replica being added still has to copy" }],
            ["Bytes left", { num: true, help: "bytes the replicas being added still have to copy (the leader's log size minus theirs)" }],
            ["ETA", { num: true, help: "when the slowest copy should be done at the rate it copied lately" }],
            ["Throttle", { help: "the move's limit on catch-up traffic, per receiving broker (sluice partition reassign --throttle)" }]],
          moves.reassignments.map((r) => h("tr", { "data-move": `${r.topic}/${r.partition}` },
            cell("partition", [topicLink(r.topic), `/${r.partition}`]),
            cell("leader", r.leader >= 0 ? String(r.leader) : "none"),
            cell("target", r.target.join(", ")),
            cell("adding", r.adding.join(", ") || "—"),
            cell("removing", r.removing.join(", ") || "—"),
            cell("isr", r.isr.join(", ")),
            numCell("behind", r.records_behind >= 0 ? r.records_behind : null, "not fetched yet"),
            // Bytes left and ETA (-1: not reported yet; docs/operations.md).
            r.progress.bytes_left < 0 ? cell("bytes-left", "?", { class: "num bad", title: "not reported yet" })
              : cell("bytes-left", fmtBytes(r.progress.bytes_left), { class: "num", "data-value": r.progress.bytes_left }),
            r.progress.bytes_left === 0 ? cell("eta", "—", { class: "num" })
              : r.progress.eta_seconds < 0 ? cell("eta", "?", { class: "num bad", title: "no copy rate yet" })
              : cell("eta", `${Math.floor(Math.ceil(r.progress.eta_seconds) / 60)}m${pad(Math.ceil(r.progress.eta_seconds) % 60)}s`,
                { class: "num", "data-value": Math.ceil(r.progress.eta_seconds) }),
            cell("throttle", r.throttle > 0 ? `${fmtBytes(r.throttle)}/s` : "—"),
          )), "None.", { id: "reassignments" }),
        ] : []),
      ];
    },
  },

  topics: {
    // One call per refresh: a page of topics with their figures and the
    // totals (GET /v1/cluster/topics), sorted and paged by the server.
    async load() {
      const st = topicsPage;
      const q = new URLSearchParams({ offset: st.offset, limit: st.limit, sort: st.sort, order: st.order,
        filter: $("#topics-filter").value.trim(), internal: showInternal() ? "true" : "false" });
      const page = await api(`/v1/cluster/topics?${q}`);
      if (page.matched > 0 && st.offset >= page.matched) {
        st.offset = Math.max(0, Math.floor((page.matched - 1) / st.limit) * st.limit);
        return this.load();
      }
      fillTopicChoices(page.topics);
      return page;
    },
    render(page) {
      const rows = page.topics.map((t) => h("tr", { "data-topic": t.name },
        cell("name", [topicLink(t.name), t.internal ? badge("internal", "muted") : ""]),
        numCell("partitions", t.partitions),
        numCell("rf", t.replication_factor),
        cell("partitioner", t.partitioner, { class: "mono" }),
        numCell("hw", t.unknown ? -1 : t.high_watermark, "a partition's leader did not answer"),
        numCell("records", t.unknown ? -1 : t.records, "a partition's leader did not answer"),
        cell("size", t.unknown ? "?" : fmtBytes(t.log_bytes), { class: t.unknown ? "num bad" : "num", title: `${fmtInt(t.log_bytes)} bytes on the leaders' disks (one replica)`, "data-value": t.log_bytes }),
        cell("under-replicated", fmtInt(t.under_replicated), { class: t.under_replicated ? "num warn" : "num" }),
        cell("offline", fmtInt(t.offline), { class: t.offline ? "num bad" : "num" }),
        cell("leaders", t.leaders.join(", "), { class: "mono" }),
      ));
      const sortable = (title, key, o = {}) => [title, { ...o, sort: key }];
      const filtered = $("#topics-filter").value.trim() !== "";
      return [
        kv([
          ["Topics", `${fmtInt(page.totals.topics - page.totals.internal)}` + (page.totals.internal ? ` (+${page.totals.internal} internal)` : ""), { col: "total-topics" }],
          ["Partitions", fmtInt(page.totals.partitions), { col: "total-partitions" }],
          ["Under-replicated", fmtInt(page.totals.under_replicated), { cls: page.totals.under_replicated ? "warn" : "" }],
          ["Offline", fmtInt(page.totals.offline), { cls: page.totals.offline ? "bad" : "" }],
        ]),
        sortedTable([sortable("Topic", "name"), sortable("Partitions", "partitions", { num: true }),
          sortable("RF", "replication_factor", { num: true, help: "replication factor" }), "Partitioner",
          ["High watermark Σ", { num: true, help: "sum over partitions of the high watermark (first offset not yet committed)" }],
          sortable("Records", "records", { num: true, help: "committed records kept: Σ (high watermark − log start)" }),
          sortable("Size", "log_bytes", { num: true, help: "bytes on disk of the partitions' leaders (one replica)" }),
          sortable("Under-repl.", "under_replicated", { num: true, help: "partitions whose ISR is smaller than their replica set" }),
          ["Offline", { num: true, help: "partitions without a leader" }],
          ["Leaders", { help: "brokers leading its partitions" }]],
        rows, filtered ? "No topic matches the filter." : "No topics yet.", { id: "topics" }, topicsPage, refresh),
        pager("topics-pager", topicsPage, page.matched, refresh),
      ];
    },
  },

  topic: {
    async load(route) {
      return api(`/v1/topics/${enc(route.name)}`);
    },
    // Groups come after the partitions: describing every group can be
    // slow, and the partitions should not wait for it.
    late: {
      async load(route, t, errs) {
        const list = await api("/v1/groups");
        const want = list.groups.slice(0, GROUP_DETAIL_LIMIT);
        const got = await settle(want.map((g) => api(`/v1/groups/${enc(g.group)}`)), errs,
          (e) => e.code === "unknown_group");
        return got.filter((g) => g && (g.offsets || []).some((o) => o.topic === t.name));
      },
      render(groups, t) {
        const hwOf = new Map(t.partitions.map((p) => [p.index, p.high_watermark]));
        return table(["Group", "State", ["Members", { num: true }], ["Lag Σ", { num: true, help: "Σ (high watermark − committed offset)" }], "Lag by partition (partition: committed → lag)"],
          groups.map((g) => {
            const mine = g.offsets.filter((o) => o.topic === t.name).sort((a, b) => a.partition - b.partition);
            return h("tr", { "data-group": g.group },
              cell("group", groupLink(g.group)),
              cell("state", stateBadge(g.state)),
              numCell("members", (g.members || []).length),
              numCell("lag", groupLag(mine)),
              cell("by-partition", mine.map((o, i) => [i ? " · " : "",
                h("span", { class: o.lag > 0 ? "lagging" : "", title: `high watermark ${fmtInt(hwOf.get(o.partition))}` },
                  `${o.partition}: ${o.committed < 0 ? "none" : fmtInt(o.committed)} → ${fmtInt(o.lag)}`)]), { class: "mono" }),
            );
          }), "No consumer group has committed offsets for this topic.", { id: "topic-groups" });
      },
    },
    render(t) {
      const s = topicStats(t);
      const parts = t.partitions.map((p) => {
        const isr = new Set(p.isr);
        const reps = p.replicas.map((r, i) => [i ? ", " : "",
          h("span", { class: isr.has(r) ? (r === p.leader ? "leader" : "") : "bad", title: isr.has(r) ? (r === p.leader ? "leader" : "in sync") : "not in the ISR" }, String(r))]);
        const uncommitted = p.log_end >= 0 && p.high_watermark >= 0 ? p.log_end - p.high_watermark : -1;
        return h("tr", { "data-partition": p.index },
          numCell("partition", p.index),
          p.leader >= 0 ? cell("leader", String(p.leader), { class: "num" }) : cell("leader", "none", { class: "num bad", title: "offline: no leader" }),
          cell("replicas", reps, { class: "mono" }),
          cell("isr", p.isr.join(", "), { class: p.isr.length < p.replicas.length ? "mono warn" : "mono", title: p.isr.length < p.replicas.length ? "under-replicated" : null }),
          numCell("leader-epoch", p.leader_epoch),
          numCell("partition-epoch", p.partition_epoch),
          numCell("log-start", p.log_start),
          numCell("log-end", p.log_end),
          numCell("hw", p.high_watermark),
          numCell("records", p.high_watermark >= 0 ? p.high_watermark - p.log_start : -1),
          numCell("uncommitted", uncommitted),
          cell("size", p.log_bytes >= 0 ? fmtBytes(p.log_bytes) : "?", { class: p.log_bytes >= 0 ? "num" : "num bad", "data-value": p.log_bytes, title: p.log_bytes >= 0 ? `${fmtInt(p.log_bytes)} bytes on the leader's disk` : "the leader did not answer" }),
        );
      });
      const config = Object.entries(t.config || {}).sort(([a], [b]) => a.localeCompare(b));
      return [
        h("div", { class: "toolbar" },
          h("h1", null, h("a", { href: "#/topics", class: "muted" }, "Topics"), " / ", t.name),
          t.internal ? badge("internal", "muted") : "",
          h("a", { class: "button", href: `#/tail/${enc(t.name)}` }, "Live tail")),
        kv([
          ["Partitions", fmtInt(t.partition_count), { col: "partition-count" }],
          ["Replication factor", fmtInt(t.replication_factor)],
          ["Partitioner", [t.partitioner, t.partitioner_params ? h("span", { class: "muted" }, ` (${paramsText(t.partitioner_params)})`) : ""], { cls: "mono" }],
          ["High watermark Σ", s.unknown ? "?" : fmtInt(s.hw)],
          ["Records", s.unknown ? "?" : fmtInt(s.records)],
          ["Size", s.unknown ? "?" : fmtBytes(s.bytes), { col: "size" }],
          ["Under-replicated", fmtInt(s.under), { cls: s.under ? "warn" : "" }],
          ["Offline", fmtInt(s.offline), { cls: s.offline ? "bad" : "" }],
        ]),
        h("h2", null, "Partitions"),
        table([["Partition", { num: true }], ["Leader", { num: true }], ["Replicas", { help: "red: not in the ISR" }], ["ISR", { help: "in-sync replicas" }],
          ["Leader epoch", { num: true }], ["Part. epoch", { num: true }], ["Log start", { num: true }], ["Log end", { num: true }],
          ["High watermark", { num: true, help: "first offset not yet committed: consumers see offsets below it" }],
          ["Records", { num: true, help: "high watermark − log start" }],
          ["Uncommitted", { num: true, help: "log end − high watermark: appended, not yet on every ISR member" }],
          ["Size", { num: true, help: "bytes on disk of the leader's log (one replica)" }]],
        parts, "No partitions.", { id: "partitions" }),
        h("h2", null, "Consumer groups"),
        h("div", { class: "late" }),
        h("h2", null, "Configuration"),
        table(["Key", "Value"], config.map(([k, v]) => h("tr", null, cell("key", k, { class: "mono" }), cell("value", v, { class: "mono" }))),
          "Defaults only (see docs/api.md)."),
      ];
    },
  },

  groups: {
    // The list is one call; the page's groups are described (one call
    // each, at most a page) for their topics and lag.
    async load(route, errs) {
      const list = await api("/v1/groups");
      const st = groupsPage;
      const f = $("#groups-filter").value.trim().toLowerCase();
      let shown = list.groups.filter((g) => g.group.toLowerCase().includes(f));
      const key = { group: (g) => g.group, state: (g) => g.state, members: (g) => g.members, coordinator: (g) => g.coordinator }[st.sort] || ((g) => g.group);
      shown.sort((a, b) => {
        const x = key(a), y = key(b);
        const c = typeof x === "string" ? x.localeCompare(y) : x - y;
        return (st.order === "desc" ? -c : c) || a.group.localeCompare(b.group);
      });
      if (st.offset >= shown.length) st.offset = Math.max(0, Math.floor((shown.length - 1) / st.limit) * st.limit);
      const matched = shown.length;
      shown = shown.slice(st.offset, st.offset + st.limit);
      const got = await settle(shown.map((g) => api(`/v1/groups/${enc(g.group)}`)), errs,
        (e) => e.code === "unknown_group");
      const details = new Map();
      got.forEach((g, i) => { if (g) details.set(shown[i].group, g); });
      return { groups: shown, matched, total: list.groups.length, details, filtered: f !== "" };
    },
    render({ groups, matched, total, details, filtered }) {
      const rows = groups.map((g) => {
        const d = details.get(g.group);
        const topics = d ? [...new Set((d.offsets || []).map((o) => o.topic))].sort() : [];
        return h("tr", { "data-group": g.group },
          cell("group", groupLink(g.group)),
          cell("state", stateBadge(g.state)),
          numCell("members", g.members),
          cell("assignor", g.assignor || ""),
          numCell("coordinator", g.coordinator),
          cell("topics", topics.map((t, i) => [i ? ", " : "", topicLink(t)])),
          d ? numCell("lag", groupLag(d.offsets)) : cell("lag", "", { class: "num muted", title: "not loaded" }),
        );
      });
      return [
        h("p", { class: "muted", "data-field": "group-count" }, `${plural(total, "group")}`),
        sortedTable([["Group", { sort: "group" }], ["State", { sort: "state" }], ["Members", { num: true, sort: "members" }], "Assignor",
          ["Coordinator", { num: true, help: "the broker coordinating the group", sort: "coordinator" }],
          "Topics", ["Lag Σ", { num: true, help: "Σ over partitions of high watermark − committed offset" }]],
        rows, filtered ? "No group matches the filter." : "No consumer groups yet.", { id: "groups" }, groupsPage, refresh),
        pager("groups-pager", groupsPage, matched, refresh),
      ];
    },
  },

  group: {
    async load(route) {
      return api(`/v1/groups/${enc(route.name)}`);
    },
    render(g) {
      const owner = new Map();
      for (const m of g.members || []) for (const a of m.assignment || []) for (const p of a.partitions) owner.set(`${a.topic}/${p}`, m);
      const members = (g.members || []).map((m) => h("tr", { "data-member": m.id },
        cell("id", m.id, { class: "mono" }),
        cell("client", m.client_id || ""),
        cell("host", m.host || "", { class: "mono" }),
        cell("assignment", (m.assignment || []).map((a, i) => [i ? "; " : "", topicLink(a.topic), `: ${a.partitions.join(", ")}`])),
      ));
      const offsets = [...(g.offsets || [])].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
        .map((o) => {
          const m = owner.get(`${o.topic}/${o.partition}`);
          return h("tr", { "data-topic": o.topic, "data-partition": o.partition },
            cell("topic", topicLink(o.topic)),
            numCell("partition", o.partition),
            o.committed < 0 ? cell("committed", "none", { class: "num muted" }) : numCell("committed", o.committed),
            numCell("log-end", o.log_end),
            cell("lag", fmtInt(o.lag), { class: o.lag > 0 ? "num lagging" : "num", "data-value": o.lag }),
            cell("owner", m ? (m.client_id ? `${m.client_id} (${m.id})` : m.id) : "", { class: "mono" }),
          );
        });
      return [
        h("div", { class: "toolbar" }, h("h1", null, h("a", { href: "#/groups", class: "muted" }, "Groups"), " / ", g.group)),
        kv([
          ["State", stateBadge(g.state)],
          ["Generation", fmtInt(g.generation)],
          ["Assignor", g.assignor || "—"],
          ["Coordinator", `node ${g.coordinator}`],
          ["Members", fmtInt((g.members || []).length)],
          ["Lag Σ", fmtInt(groupLag(g.offsets)), { col: "lag" }],
        ]),
        h("h2", null, "Members"),
        table(["Member ID", "Client ID", "Host", "Assignment"], members, "No members connected.", { id: "members" }),
        h("h2", null, "Offsets"),
        table(["Topic", ["Partition", { num: true }], ["Committed", { num: true }], ["Log end", { num: true, help: "the high watermark: the end a consumer can reach" }],
          ["Lag", { num: true, help: "high watermark − committed offset" }], "Owner"],
        offsets, "No committed offsets.", { id: "offsets" }),
      ];
    },
  },

  plugins: {
    async load() { return api("/v1/plugins"); },
    render(list) {
      const rows = list.plugins.map((p) => {
        const latest = p.versions.find((v) => v.version === p.latest) || p.versions[p.versions.length - 1] || {};
        return h("tr", { "data-plugin": p.name },
          cell("name", pluginLink(p.name)),
          cell("kind", p.kind),
          cell("latest", `@${p.latest}`, { class: "num" }),
          numCell("versions", p.versions.length),
          cell("size", fmtBytes(latest.size), { class: "num" }),
          cell("abi", latest.abi_version != null ? String(latest.abi_version) : "", { class: "num" }),
          cell("created", fmtTime(latest.created_at, false), { class: "mono" }),
          cell("used-by", usedByLinks(p.used_by)),
        );
      });
      return table(["Plugin", "Kind", ["Latest", { num: true }], ["Versions", { num: true }], ["Size", { num: true, help: "of the latest version" }],
        ["ABI", { num: true }], "Uploaded (latest)", "Used by"], rows, "No plugins uploaded.", { id: "plugins" });
    },
  },

  plugin: {
    async load(route) { return api(`/v1/plugins/${enc(route.name)}`); },
    render(p) {
      const versions = [...p.versions].sort((a, b) => b.version - a.version).map((v) => h("tr", { "data-version": v.version },
        cell("version", `@${v.version}`, { class: "num" }),
        cell("size", fmtBytes(v.size), { class: "num", title: `${fmtInt(v.size)} bytes` }),
        cell("sha256", (v.sha256 || "").slice(0, 16), { class: "mono", title: v.sha256 }),
        cell("abi", String(v.abi_version), { class: "num" }),
        cell("exports", (v.exports || []).join(", "), { class: "mono wrap" }),
        cell("params", paramsText(v.params), { class: "mono wrap" }),
        cell("memory", v.limits ? fmtBytes(v.limits.memory_pages * 65536) : "", { class: "num", title: v.limits ? `${v.limits.memory_pages} pages of 64 KiB` : null }),
        cell("timeout", v.limits ? `${fmtInt(v.limits.timeout_ms)} ms` : "", { class: "num" }),
        cell("max-output", v.limits ? fmtBytes(v.limits.max_output_bytes) : "", { class: "num" }),
        cell("created", fmtTime(v.created_at, false), { class: "mono" }),
      ));
      return [
        h("div", { class: "toolbar" }, h("h1", null, h("a", { href: "#/plugins", class: "muted" }, "Plugins"), " / ", p.name)),
        kv([["Kind", p.kind], ["Latest", `${p.name}@${p.latest}`, { cls: "mono" }], ["Used by", usedByLinks(p.used_by)]]),
        h("h2", null, "Versions"),
        table([["Version", { num: true }], ["Size", { num: true }], "SHA-256", ["ABI", { num: true }], "Exports", "Default params",
          ["Memory", { num: true }], ["Timeout", { num: true, help: "per call" }], ["Max output", { num: true, help: "per call" }], "Uploaded"],
        versions, "No versions.", { id: "versions" }),
      ];
    },
  },

  tail: {
    // The tail's records live in the static section; a refresh only
    // refreshes the topic choices.
    async load() {
      const list = await api("/v1/topics");
      fillTopicChoices(list.topics);
      return null;
    },
    render: null,
  },
};

function showInternal() { return $("#topics-internal").checked; }

function fillTopicChoices(topics) {
  const dl = $("#tail-topics");
  dl.replaceChildren(...topics.map((t) => h("option", { value: t.name })));
}

function showIdentity(c) {
  $("#identity").textContent = `cluster ${String(c.cluster_id).slice(0, 8)} · node ${c.node_id}`;
}

// ---------------------------------------------------------------- routing and refresh

// parseRoute reads the location hash: #/cluster, #/topics, #/topics/NAME,
// #/groups, #/groups/NAME, #/plugins, #/plugins/NAME, #/tail, #/tail/TOPIC.
function parseRoute() {
  // "?k=v" after the path (the message browser's start: #/topics/T?partition=0&from=earliest).
  const [raw, qs = ""] = location.hash.replace(/^#\/?/, "").split("?", 2);
  const query = new URLSearchParams(qs);
  const slash = raw.indexOf("/");
  const head = slash < 0 ? raw : raw.slice(0, slash);
  let arg = slash < 0 ? "" : raw.slice(slash + 1);
  try { arg = decodeURIComponent(arg); } catch { /* keep it raw */ }
  const detail = { topics: "topic", groups: "group", plugins: "plugin" };
  if (detail[head]) return arg ? { view: detail[head], nav: head, name: arg, query } : { view: head, nav: head };
  if (head === "tail") return { view: "tail", nav: "tail", name: arg };
  return { view: "cluster", nav: "cluster" };
}

let route = parseRoute();
let generation = 0; // bumped by every refresh: late answers of older ones are dropped
let timer = 0;
let lastData = null; // what the active view last rendered, for filter changes

function routeKey(r) { return `${r.view}/${r.name || ""}`; }

function showErrors(errs) {
  const box = $("#error");
  box.replaceChildren(...errs.map((e) => h("div", null, e.message || String(e))));
  box.hidden = errs.length === 0;
}

function renderView(data) {
  const v = views[route.view];
  if (!v.render) return;
  const content = $(`#view-${route.view} .content`);
  content.replaceChildren(...[v.render(data, route)].flat().filter(Boolean));
  content.dataset.key = routeKey(route);
  content.classList.remove("stale");
  // The view's forms are built once per route (a refresh must not wipe
  // what the user is typing), after the first answer.
  const slot = document.querySelector(`#view-${route.view} .actions`);
  if (v.actions && slot && slot.dataset.key !== routeKey(route)) {
    slot.dataset.key = routeKey(route);
    slot.replaceChildren(...[v.actions(route, data)].flat().filter(Boolean));
    // ?action=ID in the link opens that action's form.
    const want = route.query && route.query.get("action");
    const d = want && [...slot.querySelectorAll("details.action")].find((x) => x.dataset.action === want);
    if (d) d.open = true;
  }
}

async function refresh() {
  clearTimeout(timer);
  const my = ++generation;
  const v = views[route.view];
  const errs = [];
  document.body.classList.add("loading");
  try {
    const data = await v.load(route, errs);
    if (my !== generation) return;
    lastData = data;
    renderView(data);
    if (v.late) await refreshLate(v.late, data, errs, my);
    if (my !== generation) return;
    $("#updated").textContent = `updated ${clock(new Date())}`;
  } catch (e) {
    if (my !== generation) return;
    errs.unshift(e);
    $("#updated").textContent = `failed ${clock(new Date())}`;
    const content = $(`#view-${route.view} .content`);
    if (content) {
      if (content.dataset.key !== routeKey(route)) {
        content.replaceChildren(h("p", { class: "muted" }, "Nothing to show: the request failed (see above)."));
        content.dataset.key = routeKey(route);
      } else {
        content.classList.add("stale"); // last good answer, kept on screen
      }
    }
  } finally {
    if (my === generation) {
      showErrors(errs);
      document.body.classList.remove("loading");
      schedule();
    }
  }
}

// lateParts keeps the last rendering of a view's late part, by route, so
// that a refresh shows it until the new one arrives.
const lateParts = new Map();

// refreshLate loads and renders the part of a view that may be slow into
// its ".late" slot; its failure is reported in the slot, not the banner.
async function refreshLate(late, data, errs, my) {
  const key = routeKey(route);
  const slot = () => document.querySelector(`#view-${route.view} .late`);
  if (!slot()) return;
  slot().replaceChildren(lateParts.get(key) || h("p", { class: "muted" }, "Loading…"));
  let node;
  try {
    node = late.render(await late.load(route, data, errs), data);
  } catch (e) {
    node = h("p", { class: "muted" }, `Unavailable: ${e.message}`);
  }
  if (my !== generation || !slot()) return;
  lateParts.set(key, node);
  slot().replaceChildren(node);
}

function schedule() {
  clearTimeout(timer);
  const every = Number($("#refresh-every").value);
  if (every > 0 && !document.hidden) timer = setTimeout(refresh, every);
}

function navigate() {
  route = parseRoute();
  lastData = null;
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${route.view}`;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.nav === route.nav);
  const titles = { topic: "topic", group: "group", plugin: "plugin" };
  document.title = route.name && titles[route.view] ? `${route.name} · Sluice` : `${route.nav[0].toUpperCase()}${route.nav.slice(1)} · Sluice`;
  if (route.view === "tail" && route.name && !tail.ws) $("#tail-topic").value = route.name;
  const content = $(`#view-${route.view} .content`);
  if (content && content.dataset.key !== routeKey(route)) {
    content.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    content.dataset.key = "";
  }
  const slot = document.querySelector(`#view-${route.view} .actions`);
  if (slot && slot.dataset.key !== routeKey(route)) { slot.replaceChildren(); slot.dataset.key = ""; }
  showErrors([]);
  refresh();
}

// ---------------------------------------------------------------- live tail

const tail = { ws: null, topic: "", from: "", count: 0, error: null, partitions: 0, starts: [] };

function tailStatus(text, kind = "") {
  const s = $("#tail-status");
  s.textContent = text;
  s.className = `status ${kind}`;
  s.dataset.state = kind;
}

function tailButtons() {
  const running = tail.ws !== null;
  $("#tail-start").disabled = running;
  $("#tail-stop").disabled = !running;
  $("#tail-dot").hidden = !running;
  for (const id of ["#tail-topic", "#tail-from", "#tail-processor", "#tail-params"]) $(id).disabled = running;
}

// parseParams reads "k=v, k=v" into processor parameters.
function parseParams(text) {
  const out = [];
  for (const part of text.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf("=");
    if (eq <= 0) throw new Error(`parameter "${p}" is not key=value`);
    out.push([p.slice(0, eq).trim(), p.slice(eq + 1).trim()]);
  }
  return out;
}

function tailStart(ev) {
  ev.preventDefault();
  if (tail.ws) return;
  const topic = $("#tail-topic").value.trim();
  if (!topic) { tailStatus("Name a topic to tail.", "error"); return; }
  const q = new URLSearchParams({ from: $("#tail-from").value, client_id: "console" });
  const processor = $("#tail-processor").value.trim();
  if (processor) q.set("processor", processor);
  try {
    for (const [k, v] of parseParams($("#tail-params").value)) q.set(`param.${k}`, v);
  } catch (e) {
    tailStatus(e.message, "error");
    return;
  }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/v1/topics/${enc(topic)}/consume?${q}`;
  // A browser cannot set headers on a WebSocket: the token travels as a
  // subprotocol, next to the one the server selects (docs/websocket.md).
  const t = token();
  const ws = t ? new WebSocket(url, ["sluice.v1", `sluice.token.${t}`]) : new WebSocket(url);
  Object.assign(tail, { ws, topic, from: q.get("from"), count: 0, error: null, partitions: 0, starts: [] });
  tailStatus(`Connecting to ${topic}…`, "connecting");
  tailButtons();
  ws.onopen = () => ws.send(JSON.stringify({ type: "credit", records: TAIL_CREDIT }));
  ws.onmessage = (ev) => {
    if (ws !== tail.ws) return;
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    switch (m.type) {
      case "welcome":
        tail.partitions = m.partitions;
        break;
      case "assigned":
        tail.starts = m.partitions;
        tailProgress();
        break;
      case "records":
        showRecords(m);
        if (m.records.length > 0) ws.send(JSON.stringify({ type: "credit", records: m.records.length }));
        tailProgress();
        break;
      case "error":
        tail.error = m.error;
        break;
    }
  };
  ws.onclose = (ev) => {
    if (ws !== tail.ws) return;
    tail.ws = null;
    tailButtons();
    if (tail.error) {
      tailStatus(`Stopped: ${tail.error.code}: ${tail.error.message}`, "error");
    } else if (ev.code === 1000 || ev.code === 1001) {
      tailStatus(`Stopped by the server after ${plural(tail.count, "record")}${ev.reason ? ` (${ev.reason})` : ""}.`, "stopped");
    } else {
      tailStatus(`Connection lost after ${plural(tail.count, "record")} (close ${ev.code}${ev.reason ? ` ${ev.reason}` : ""}).`, "error");
    }
  };
}

function tailProgress() {
  const starts = (tail.starts || []).map((p) => `${p.partition}@${p.offset}`).join(" ");
  tailStatus(`Streaming ${tail.topic} from ${tail.from}: ${plural(tail.partitions, "partition")} (start ${starts}) · ${plural(tail.count, "record")} received`, "streaming");
}

function tailStop() {
  const ws = tail.ws;
  if (!ws) return;
  tail.ws = null;
  ws.close(1000, "stopped");
  tailButtons();
  tailStatus(`Stopped after ${plural(tail.count, "record")}.`, "stopped");
}

function bytesCell(col, value, encoding) {
  if (value == null) return cell(col, "—", { class: "muted", title: "no key" });
  const short = value.length > CELL_TEXT_MAX ? value.slice(0, CELL_TEXT_MAX) + "…" : value;
  const props = { class: "mono wrap", title: value.length > CELL_TEXT_MAX ? value.slice(0, 4 * CELL_TEXT_MAX) : null };
  if (encoding === "base64") return cell(col, [badge("b64", "muted", "not valid UTF-8: shown as base64"), short], props);
  return cell(col, short, props);
}

// showRecords puts a frame's records on top of the list, newest first,
// and drops the oldest beyond the "keep" bound.
function showRecords(m) {
  const body = $("#tail-records");
  const now = clock(new Date());
  const frag = document.createDocumentFragment();
  for (let i = m.records.length - 1; i >= 0; i--) {
    const r = m.records[i];
    frag.append(h("tr", { "data-partition": r.partition, "data-offset": r.offset },
      cell("received", now, { class: "mono muted" }),
      numCell("partition", r.partition),
      numCell("offset", r.offset),
      cell("timestamp", fmtTime(r.timestamp), { class: "mono" }),
      bytesCell("key", r.key, r.key_encoding),
      bytesCell("value", r.value, r.value_encoding),
      cell("headers", (r.headers || []).map((x) => `${x.key}=${x.encoding === "base64" ? "b64:" : ""}${x.value}`).join(", "), { class: "mono wrap" }),
    ));
  }
  body.prepend(frag);
  tail.count += m.records.length;
  const keep = Math.max(10, Number($("#tail-keep").value) || 500);
  while (body.rows.length > keep) body.lastElementChild.remove();
}

// ---------------------------------------------------------------- start

function start() {
  window.addEventListener("hashchange", navigate);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  $("#refresh-every").addEventListener("change", schedule);
  $("#refresh-now").addEventListener("click", refresh);
  $("#topics-filter").addEventListener("input", () => { topicsPage.offset = 0; if (route.view === "topics") refresh(); });
  $("#topics-internal").addEventListener("change", () => { topicsPage.offset = 0; refresh(); });
  $("#groups-filter").addEventListener("input", () => { groupsPage.offset = 0; if (route.view === "groups") refresh(); });
  $("#tail-form").addEventListener("submit", tailStart);
  $("#tail-stop").addEventListener("click", tailStop);
  $("#tail-clear").addEventListener("click", () => { $("#tail-records").replaceChildren(); });
  $("#signin").addEventListener("submit", signin);
  $("#signout").addEventListener("click", signout);
  $("#signout").hidden = !token();
  showWhoAmI();
  api("/v1/cluster").then(showIdentity, () => { /* the view reports errors */ });
  navigate();
}

// The other scripts (actions.js, browser.js, charts.js) add to views
// before the page starts.
document.addEventListener("DOMContentLoaded", start);
