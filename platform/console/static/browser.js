// Sluice console: the message browser of a topic page. It reads one
// partition a page at a time through the fetch API (GET
// /v1/topics/{t}/partitions/{p}/records?offset=N, no long-poll), starting
// at an offset, at the log start or end, or at the first record at or
// after a time (GET .../offsets?at=MS). Values that are JSON are shown
// pretty-printed; bytes that are not UTF-8 (the API sends them as base64)
// as a hex dump; control characters in text as escapes. Everything
// reaches the page as text.
"use strict";

// Records per page of the browser, and the bytes asked per fetch.
const BROWSE_PAGE = 20;
const BROWSE_MAX_BYTES = 1 << 20;
// Longest value shown before "…" (the full one is in the tooltip).
const BROWSE_VALUE_MAX = 20000;

// escapeControls shows control characters of text as \n-style escapes,
// keeping newlines and tabs of pretty text readable.
function escapeControls(s, keepNewlines) {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (keepNewlines && (c === "\n" || c === "\t")) return c;
    const map = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return map[c] || `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

function b64bytes(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// hexDump is 16 bytes a line: offset, hex, printable ASCII.
function hexDump(bytes, max = 4096) {
  const lines = [];
  for (let i = 0; i < Math.min(bytes.length, max); i += 16) {
    const row = bytes.slice(i, i + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    const asc = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${i.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${asc}`);
  }
  if (bytes.length > max) lines.push(`… ${fmtInt(bytes.length - max)} more bytes`);
  return lines.join("\n");
}

// payload renders a key or value: JSON pretty-printed, binary as hex,
// text with its control characters escaped. kind is reported in data-kind.
function payload(col, value, encoding) {
  if (value == null) return cell(col, "—", { class: "muted", title: "none", "data-kind": "none" });
  if (encoding === "base64") {
    let bytes;
    try { bytes = b64bytes(value); } catch { bytes = new Uint8Array(); }
    return cell(col, [badge(`binary ${fmtBytes(bytes.length)}`, "muted", "not UTF-8: shown as hex"),
      h("pre", { class: "hex" }, hexDump(bytes))], { "data-kind": "binary" });
  }
  const t = value.trim();
  if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]"))) {
    try {
      const pretty = JSON.stringify(JSON.parse(t), null, 2);
      return cell(col, h("pre", { class: "json" }, escapeControls(pretty.slice(0, BROWSE_VALUE_MAX), true)), { "data-kind": "json" });
    } catch { /* not JSON: text */ }
  }
  const shown = escapeControls(value.length > BROWSE_VALUE_MAX ? value.slice(0, BROWSE_VALUE_MAX) + "…" : value, false);
  return cell(col, h("span", { class: "mono wrap" }, shown), { "data-kind": "text" });
}

// messageBrowser is the browser's form and table for topic t. A query
// (from the URL: partition, from = earliest|latest|offset|time, at) fills
// the form and loads at once, so a position can be linked.
function messageBrowser(t, query) {
  const st = { partition: 0, first: -1, next: -1, logStart: 0, hw: 0 };
  const status = h("div", { class: "status", id: "browse-status" }, "Pick a partition and where to start.");
  const body = h("tbody", { id: "browse-records" });
  const partSel = followPartitions(select("partition", t.partitions.map((p) => String(p.index))));
  const fromSel = select("from", [["earliest", "log start"], ["latest", `the last ${BROWSE_PAGE}`], ["offset", "offset"], ["time", "time"]]);
  const at = input("at", { placeholder: "offset, or time YYYY-MM-DD HH:MM:SS", size: 24 });
  const prev = h("button", { type: "button", id: "browse-prev", disabled: true }, "◀ previous");
  const next = h("button", { type: "button", id: "browse-next", disabled: true }, "next ▶");
  const form = h("form", { class: "tail-form", id: "browse-form", autocomplete: "off" },
    field("Partition", partSel), field("From", fromSel), field("At", at),
    h("button", { type: "submit", id: "browse-load" }, "Load"), prev, next);

  const base = () => `/v1/topics/${enc(t.name)}/partitions/${st.partition}`;

  async function load(offset) {
    status.textContent = `Reading partition ${st.partition} from offset ${fmtInt(offset)}…`;
    status.dataset.state = "loading";
    try {
      const ans = await api(`${base()}/records?offset=${offset}&max_bytes=${BROWSE_MAX_BYTES}&max_wait_ms=0`);
      const recs = (ans.records || []).slice(0, BROWSE_PAGE);
      st.logStart = ans.log_start;
      st.hw = ans.high_watermark;
      st.first = recs.length ? recs[0].offset : offset;
      st.next = recs.length ? recs[recs.length - 1].offset + 1 : offset;
      body.replaceChildren(...recs.map((r) => h("tr", { "data-offset": r.offset },
        numCell("offset", r.offset),
        cell("timestamp", fmtTime(r.timestamp), { class: "mono", title: String(r.timestamp) }),
        payload("key", r.key, r.key_encoding),
        payload("value", r.value, r.value_encoding),
        cell("headers", (r.headers || []).map((x) => h("div", null,
          `${escapeControls(x.key, false)}=`, x.encoding === "base64" ? h("span", { class: "muted" }, `hex ${[...b64bytes(x.value)].map((b) => b.toString(16).padStart(2, "0")).join("")}`) : escapeControls(x.value, false))),
        { class: "mono wrap" }))));
      if (!recs.length) body.append(h("tr", null, h("td", { colspan: 5, class: "empty" }, "No records from here.")));
      status.textContent = recs.length
        ? `Partition ${st.partition}: offsets ${fmtInt(st.first)}–${fmtInt(st.next - 1)} (log start ${fmtInt(st.logStart)}, high watermark ${fmtInt(st.hw)})`
        : `Partition ${st.partition}: nothing at ${fmtInt(offset)} (log start ${fmtInt(st.logStart)}, high watermark ${fmtInt(st.hw)})`;
      status.dataset.state = "shown";
      prev.disabled = st.first <= st.logStart;
      next.disabled = st.next >= st.hw;
    } catch (e) {
      status.textContent = e.message;
      status.dataset.state = "error";
    }
  }

  async function offsetAt(where) {
    const ans = await api(`${base()}/offsets?at=${enc(where)}`);
    return ans.offset;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    st.partition = Number(partSel.value);
    const v = at.value.trim();
    try {
      switch (fromSel.value) {
        case "earliest": await load(await offsetAt("earliest")); break;
        case "latest": {
          const [start, end] = await Promise.all([offsetAt("earliest"), offsetAt("latest")]);
          await load(Math.max(start, end - BROWSE_PAGE));
          break;
        }
        case "offset":
          if (!/^\d+$/.test(v)) throw new Error("At: give an offset (a number >= 0).");
          await load(Number(v));
          break;
        case "time": {
          const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v.replace(" ", "T"));
          if (Number.isNaN(ms)) throw new Error(`At: "${v}" is not a time (YYYY-MM-DD HH:MM:SS or ms since the epoch).`);
          const off = await offsetAt(String(ms));
          await load(off);
          break;
        }
      }
    } catch (e) {
      status.textContent = e.message;
      status.dataset.state = "error";
    }
  });
  prev.addEventListener("click", () => load(Math.max(st.logStart, st.first - BROWSE_PAGE)));
  next.addEventListener("click", () => load(st.next));

  if (query && (query.has("from") || query.has("partition"))) {
    if (query.has("partition")) partSel.value = query.get("partition");
    if (query.has("from")) fromSel.value = query.get("from");
    if (query.has("at")) at.value = query.get("at");
    setTimeout(() => form.requestSubmit(), 0);
  }
  return h("div", { class: "browser", id: "browser" }, form, status,
    h("div", { class: "table-wrap" }, h("table", { class: "grid records", id: "browse-table" },
      h("thead", null, h("tr", null, h("th", { class: "num" }, "Offset"), h("th", null, "Timestamp"), h("th", null, "Key"), h("th", null, "Value"), h("th", null, "Headers"))),
      body)));
}
