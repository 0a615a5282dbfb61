// Sluice console: the actions. Each is a form in the view's ".actions"
// slot (built once per route, so a refresh never wipes what is typed),
// guarded by the caller's permissions (POST /v1/whoami/permissions): a
// form the principal's ACLs do not allow is disabled and says so. Every
// action calls the same /v1 API the CLI uses; its answer, or the API's
// error verbatim ("POST /v1/topics: topic_exists: ..."), is shown under
// the form.
"use strict";

// permitted asks which checks ([resource_type, resource, operation]) the
// caller may do; on failure every check counts as allowed (the API still
// decides, and its refusal is shown).
async function permitted(checks) {
  try {
    const ans = await api("/v1/whoami/permissions", {
      method: "POST",
      json: { checks: checks.map(([t, r, o]) => ({ resource_type: t, resource: r, operation: o })) },
    });
    return ans.results;
  } catch {
    return checks.map(() => ({ allowed: true }));
  }
}

// field is a labelled input.
function field(label, input, hint) {
  return h("label", { class: "field" }, h("span", null, label), input, hint ? h("small", { class: "muted" }, hint) : null);
}

function input(name, props = {}) {
  return h("input", { name, autocomplete: "off", spellcheck: "false", ...props });
}

function select(name, options, value) {
  const el = h("select", { name }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, o];
    return h("option", { value: v }, text);
  }));
  if (value != null) el.value = value;
  return el;
}

// showResult puts an outcome under a form: text, or nodes.
function showResult(el, state, content) {
  el.dataset.state = state;
  el.className = `result ${state}`;
  el.replaceChildren(...[content].flat().filter((x) => x != null));
}

// action builds one guarded form. spec: {id, title, check: [type, name,
// op] (or a list of them), fields: () => [nodes], submit: async (form,
// button) => result content, button: label, open}. A form with several
// submit buttons passes the clicked one to submit.
function action(spec) {
  const result = h("div", { class: "result", "data-state": "" });
  const fieldset = h("fieldset", null, spec.fields(), h("div", { class: "buttons" },
    (spec.buttons || [[spec.button || spec.title, "do"]]).map(([label, name, cls]) =>
      h("button", { type: "submit", name, value: name, class: cls || "" }, label))));
  const form = h("form", { class: "action-form", id: spec.id, autocomplete: "off" }, fieldset, result);
  const details = h("details", { class: "action", "data-action": spec.id, open: spec.open || null },
    h("summary", null, spec.title, h("span", { class: "denied", hidden: true }, "")), form);
  let running = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (running) return;
    running = true;
    fieldset.disabled = true;
    showResult(result, "running", "Working…");
    try {
      const out = await spec.submit(form, (ev.submitter && ev.submitter.value) || "do");
      showResult(result, "ok", out || "Done.");
      refresh();
    } catch (e) {
      showResult(result, "error", e.message || String(e));
    } finally {
      running = false;
      fieldset.disabled = false;
    }
  });
  if (spec.checkName) {
    // The resource is named in the form (create topic NAME, upload plugin
    // NAME): ACLs may allow some names (a prefix) and not others, so the
    // button follows the name typed; the fields stay editable.
    const [type, op, fieldName] = spec.checkName;
    const note = details.querySelector(".denied");
    const buttons = () => form.querySelectorAll("button");
    let seq = 0;
    const recheck = async () => {
      const name = val(form, fieldName);
      const my = ++seq;
      const [r] = await permitted([[type, name, op]]);
      if (my !== seq) return;
      const why = r.allowed ? "" : (name ? `not allowed: you may not ${op} ${type} "${name}"` : `not allowed: you may not ${op} ${type}s (or not without a name you may use)`);
      details.classList.toggle("not-allowed", !r.allowed && !name);
      note.textContent = why ? ` · ${why}` : "";
      note.hidden = !why;
      buttons().forEach((b) => { b.disabled = !r.allowed && !!name; b.title = why; });
      form.dataset.allowed = r.allowed ? "true" : "false";
    };
    let timer = 0;
    form.elements[fieldName].addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(recheck, 250); });
    form.addEventListener("submit", (ev) => {
      if (form.dataset.allowed === "false" && val(form, fieldName)) {
        ev.stopImmediatePropagation();
        ev.preventDefault();
        showResult(result, "error", note.textContent.replace(/^ · /, ""));
      }
    }, { capture: true });
    recheck();
  }
  if (spec.check) {
    const checks = Array.isArray(spec.check[0]) ? spec.check : [spec.check];
    permitted(checks).then((rs) => {
      const no = rs.find((r) => !r.allowed);
      if (!no) return;
      fieldset.disabled = true;
      details.classList.add("not-allowed");
      const why = `not allowed: you may not ${no.operation} ${no.resource_type} "${no.resource}"`;
      const d = details.querySelector(".denied");
      d.textContent = ` · ${why}`;
      d.hidden = false;
      form.querySelectorAll("button").forEach((b) => { b.disabled = true; b.title = why; });
      // Keep it disabled: the submit handler re-enables the fieldset.
      form.addEventListener("submit", (ev) => ev.stopImmediatePropagation(), { capture: true });
    });
  }
  return details;
}

// value reads a form field, trimmed.
function val(form, name) { return (form.elements[name].value || "").trim(); }

// intList reads "0, 1, 2" into numbers.
function intList(text, what) {
  if (!text.trim()) return [];
  return text.split(",").map((x) => {
    const n = Number(x.trim());
    if (!Number.isInteger(n) || n < 0) throw new Error(`${what}: "${x.trim()}" is not a number`);
    return n;
  });
}

// kvPairs reads "k=v, k=v" (empty values allowed: "k=").
function kvPairs(text, what) {
  const out = {};
  for (const [k, v] of parseParams(text).map(([k, v]) => [k, v])) {
    if (!k) throw new Error(`${what}: a key is empty`);
    out[k] = v;
  }
  return out;
}

// followPartitions keeps a partition <select> of the topic page in step
// with the partitions the page last loaded (they grow when partitions are
// added while the page is open): its options are rebuilt when it is
// focused. first are options kept before the partitions.
function followPartitions(sel, first = []) {
  const update = () => {
    const t = lastData;
    if (!t || !Array.isArray(t.partitions) || sel.options.length === first.length + t.partitions.length) return;
    const keep = sel.value;
    sel.replaceChildren(...[...first, ...t.partitions.map((p) => [String(p.index), String(p.index)])].map(([v, text]) => h("option", { value: v }, text)));
    sel.value = keep;
  };
  sel.addEventListener("focus", update);
  sel.addEventListener("mousedown", update);
  return sel;
}

// leaveSoon goes to hash after a moment (the result is read first), unless
// the user has gone elsewhere meanwhile.
function leaveSoon(hash) {
  const from = location.hash;
  setTimeout(() => { if (location.hash === from) location.hash = hash; }, 800);
}

function jsonBlock(v) { return h("pre", { class: "json" }, JSON.stringify(v, null, 2)); }

// ---------------------------------------------------------------- topics

views.topics.actions = () => action({
  id: "create-topic",
  title: "Create topic",
  checkName: ["topic", "create", "name"],
  fields: () => [
    field("Name", input("name", { required: true, placeholder: "orders" })),
    field("Partitions", input("partitions", { type: "number", min: 1, value: 3, required: true })),
    field("Replication factor", input("rf", { type: "number", min: 0, value: 0 }), "0: the server's default"),
    field("Retention", select("retention", [["", "default (7 days)"], ["3600000", "1 hour"], ["86400000", "1 day"],
      ["604800000", "7 days"], ["2592000000", "30 days"], ["-1", "forever"]])),
    field("Partitioner", input("partitioner", { list: "partitioner-choices", placeholder: "auto, hash, roundrobin, sticky or wasm:NAME[@N]" })),
    field("Partitioner params", input("params", { placeholder: "key=value, key=value" })),
    field("Other config", input("config", { placeholder: "durability=fsync, retention.bytes=…" })),
    h("datalist", { id: "partitioner-choices" }, ["auto", "hash", "roundrobin", "sticky"].map((v) => h("option", { value: v }))),
  ],
  async submit(form) {
    const config = kvPairs(val(form, "config"), "config");
    if (val(form, "retention")) config["retention.ms"] = val(form, "retention");
    const req = {
      name: val(form, "name"),
      partitions: Number(val(form, "partitions")),
      replication_factor: Number(val(form, "rf")) || 0,
      partitioner: val(form, "partitioner") || undefined,
      partitioner_params: val(form, "params") ? kvPairs(val(form, "params"), "partitioner params") : undefined,
      config: Object.keys(config).length ? config : undefined,
    };
    const t = await api("/v1/topics", { method: "POST", json: req });
    return ["Created ", topicLink(t.name), ` with ${plural(t.partition_count, "partition")}.`];
  },
});

// ---------------------------------------------------------------- topic

views.topic.actions = (route, t) => {
  const name = t.name;
  const parts = t.partitions.map((p) => p.index);
  const wasm = /^wasm:([^@]+)(?:@(\d+))?$/.exec(t.partitioner || "");
  return [
    h("h2", null, "Messages"),
    messageBrowser(t, route.query),
    h("h2", null, "Actions"),
    action({
      id: "produce",
      title: "Produce a test record",
      check: ["topic", name, "produce"],
      fields: () => [
        field("Key", input("key", { placeholder: "optional" })),
        field("Value", h("textarea", { name: "value", rows: 3, placeholder: '{"hello":"world"}' })),
        field("Headers", input("headers", { placeholder: "key=value, key=value" })),
        field("Partition", followPartitions(select("partition", [["", "chosen by the partitioner"], ...parts.map((p) => [String(p), String(p)])]), [["", "chosen by the partitioner"]])),
      ],
      async submit(form) {
        const rec = { value: form.elements.value.value };
        if (val(form, "key") !== "") rec.key = form.elements.key.value;
        const hs = kvPairs(val(form, "headers"), "headers");
        if (Object.keys(hs).length) rec.headers = Object.entries(hs).map(([key, value]) => ({ key, value }));
        const q = val(form, "partition") !== "" ? `?partition=${enc(val(form, "partition"))}` : "";
        const ans = await api(`/v1/topics/${enc(name)}/records${q}`, { method: "POST", json: { records: [rec] } });
        const r = (ans.results || ans.offsets || [])[0] || {};
        if (r.error) throw new Error(`${r.error.code}: ${r.error.message}`);
        return `Written to partition ${r.partition} at offset ${r.offset}.`;
      },
    }),
    action({
      id: "alter-topic",
      title: "Change configuration",
      check: ["topic", name, "alter"],
      fields: () => [
        field("Set", input("config", { placeholder: "retention.ms=86400000, durability=fsync" }), "an empty value (key=) resets a key to its default"),
        field("Partitioner", input("partitioner", { value: t.partitioner, list: "partitioner-choices-alter" }),
          wasm ? `wasm:${wasm[1]}: name a version (@N) to upgrade; without @N the newest is used` : "auto, hash, roundrobin, sticky or wasm:NAME[@N]"),
        h("datalist", { id: "partitioner-choices-alter" }, ["auto", "hash", "roundrobin", "sticky"].map((v) => h("option", { value: v }))),
        field("Partitioner params", input("params", { value: paramsText(t.partitioner_params), placeholder: "key=value" })),
      ],
      async submit(form) {
        const req = {};
        const config = kvPairs(val(form, "config"), "config");
        if (Object.keys(config).length) req.config = config;
        if (val(form, "partitioner") && val(form, "partitioner") !== t.partitioner) req.partitioner = val(form, "partitioner");
        if (val(form, "params") !== paramsText(t.partitioner_params)) req.partitioner_params = kvPairs(val(form, "params"), "params");
        if (!Object.keys(req).length) throw new Error("Nothing to change.");
        const ans = await api(`/v1/topics/${enc(name)}`, { method: "PATCH", json: req });
        return `Changed: partitioner ${ans.partitioner}; ${Object.entries(ans.config || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "defaults only"}.`;
      },
    }),
    wasm ? pluginUpgrade(name, wasm[1], wasm[2]) : null,
    action({
      id: "add-partitions",
      title: "Add partitions",
      check: ["topic", name, "alter"],
      fields: () => [
        field("New partition count", input("count", { type: "number", min: t.partition_count + 1, value: t.partition_count + 1, required: true })),
        h("p", { class: "warn-note" }, "Warning: keyed records are placed by hash of the key modulo the partition count; " +
          "after the increase, most keys map to a different partition than before, so a key's old and new records are no longer in one partition (ordering per key breaks across the change). Partitions cannot be removed."),
      ],
      async submit(form) {
        const ans = await api(`/v1/topics/${enc(name)}/partitions`, { method: "POST", json: { count: Number(val(form, "count")) } });
        return `The topic has ${plural(ans.partition_count || Number(val(form, "count")), "partition")} now.`;
      },
    }),
    action({
      id: "reassign",
      title: "Reassign a partition's replicas",
      check: ["cluster", "", "alter"],
      fields: () => [
        field("Partition", followPartitions(select("partition", parts.map(String)))),
        field("Replicas", input("replicas", { placeholder: "1, 2, 3", required: true }), "broker ids; the first is the preferred leader"),
      ],
      async submit(form) {
        const replicas = intList(val(form, "replicas"), "replicas");
        const ans = await api("/v1/partitions/reassignments", { method: "POST",
          json: { reassignments: [{ topic: name, partition: Number(val(form, "partition")), replicas }] } });
        return ["Reassignment started; it shows in the cluster view until the new replicas caught up.", jsonBlock(ans)];
      },
    }),
    action({
      id: "elect-topic",
      title: "Elect preferred leaders",
      button: "Elect",
      check: ["cluster", "", "alter"],
      fields: () => [h("p", { class: "muted" }, "Moves the leadership of this topic's partitions back to their preferred (first) replica, where it is in sync.")],
      async submit() {
        const ans = await api("/v1/partitions/elect-leaders", { method: "POST", json: { topic: name } });
        return jsonBlock(ans);
      },
    }),
    action({
      id: "delete-topic",
      title: "Delete topic",
      check: ["topic", name, "delete"],
      fields: () => [
        h("p", { class: "warn-note" }, "Deletes the topic and every record in it. This cannot be undone."),
        field(`Type the topic name (${name}) to confirm`, input("confirm", { required: true, placeholder: name })),
      ],
      buttons: [["Delete", "do", "danger"]],
      async submit(form) {
        if (form.elements.confirm.value !== name) throw new Error(`Type "${name}" exactly to confirm.`);
        await api(`/v1/topics/${enc(name)}`, { method: "DELETE" });
        leaveSoon("#/topics");
        return `Deleted ${name}.`;
      },
    }),
  ];
};

// pluginUpgrade offers the versions of a topic's Wasm partitioner.
function pluginUpgrade(topic, plugin, pinned) {
  const box = h("div", { class: "upgrade", id: "partitioner-upgrade" });
  api(`/v1/plugins/${enc(plugin)}`).then((p) => {
    const cur = pinned ? `@${pinned}` : `latest (@${p.latest})`;
    box.replaceChildren(action({
      id: "upgrade-partitioner",
      title: `Partitioner version: ${plugin} ${cur}`,
      check: ["topic", topic, "alter"],
      fields: () => [field("Use version", select("version", [...p.versions].reverse().map((v) => [String(v.version), `@${v.version}`]), String(p.latest)),
        "records already written stay where they are; new ones are placed by the chosen version")],
      button: "Switch version",
      async submit(form) {
        const ans = await api(`/v1/topics/${enc(topic)}`, { method: "PATCH", json: { partitioner: `wasm:${plugin}@${val(form, "version")}` } });
        return `Partitioner is ${ans.partitioner} now.`;
      },
    }));
  }, (e) => box.replaceChildren(h("p", { class: "muted" }, `Partitioner versions unavailable: ${e.message}`)));
  return box;
}

// ---------------------------------------------------------------- group

views.group.actions = (route, g) => {
  const name = g.group;
  const topics = [...new Set((g.offsets || []).map((o) => o.topic))].sort();
  const preview = h("div", { class: "preview" });
  return [
    h("h2", null, "Actions"),
    action({
      id: "reset-offsets",
      title: "Reset offsets",
      check: ["group", name, "alter"],
      buttons: [["Preview (dry run)", "preview"], ["Reset", "apply", "danger"]],
      fields: () => [
        field("Topic", topics.length ? select("topic", topics) : input("topic", { required: true })),
        field("To", select("to", [["earliest", "earliest (log start)"], ["latest", "latest (high watermark)"], ["offset", "an offset"],
          ["shift", "shift by N (negative: back)"], ["time", "the first record at or after a time"]])),
        field("Value", input("value", { placeholder: "offset, shift or time (YYYY-MM-DD HH:MM:SS)" })),
        field("Partitions", input("partitions", { placeholder: "all, or 0, 1, 2" })),
        h("p", { class: "muted" }, "The group must have no members connected to reset (a preview works any time)."),
      ],
      async submit(form, which) {
        const req = { topic: val(form, "topic"), dry_run: which === "preview" };
        const v = val(form, "value");
        switch (val(form, "to")) {
          case "earliest": case "latest": req.to = val(form, "to"); break;
          case "offset":
            if (!/^\d+$/.test(v)) throw new Error("Value: give an offset (a number >= 0).");
            req.to = v; break;
          case "shift":
            if (!/^-?\d+$/.test(v)) throw new Error("Value: give a shift (a whole number, negative to move back).");
            req.shift_by = Number(v); break;
          case "time": {
            const ms = Date.parse(v.replace(" ", "T"));
            if (Number.isNaN(ms)) throw new Error(`Value: "${v}" is not a time (YYYY-MM-DD HH:MM:SS).`);
            req.to = `@${ms}`; break;
          }
        }
        const ps = intList(val(form, "partitions"), "partitions");
        if (ps.length) req.partitions = ps;
        const ans = await api(`/v1/groups/${enc(name)}/reset-offsets`, { method: "POST", json: req });
        const rows = (ans.offsets || []).map((o) => h("tr", { "data-partition": o.partition },
          cell("topic", o.topic), numCell("partition", o.partition), numCell("committed", o.committed), numCell("lag", o.lag)));
        preview.replaceChildren(table(["Topic", ["Partition", { num: true }], ["New offset", { num: true }], ["Lag after", { num: true }]], rows, "No partitions.", { id: "reset-preview" }));
        return [ans.dry_run ? "Preview: nothing committed yet." : "Committed.", preview];
      },
    }),
    action({
      id: "delete-group",
      title: "Delete the group's offsets",
      check: ["group", name, "delete"],
      fields: () => [
        h("p", { class: "warn-note" }, "Deletes every committed offset of the group; its consumers start over from their reset policy. Refused while members are connected."),
        field(`Type the group name (${name}) to confirm`, input("confirm", { required: true, placeholder: name })),
      ],
      buttons: [["Delete", "do", "danger"]],
      async submit(form) {
        if (form.elements.confirm.value !== name) throw new Error(`Type "${name}" exactly to confirm.`);
        await api(`/v1/groups/${enc(name)}`, { method: "DELETE" });
        leaveSoon("#/groups");
        return `Deleted the offsets of ${name}.`;
      },
    }),
  ];
};

// ---------------------------------------------------------------- plugins

views.plugins.actions = () => action({
  id: "upload-plugin",
  title: "Upload a plugin",
  checkName: ["plugin", "upload", "name"],
  fields: () => [
    field("Name", input("name", { required: true, placeholder: "by-field" })),
    field("Kind", select("kind", ["partitioner", "processor"])),
    field("Module", input("file", { type: "file", accept: ".wasm,application/wasm", required: true })),
  ],
  async submit(form) {
    const file = form.elements.file.files[0];
    if (!file) throw new Error("Choose a .wasm file.");
    const name = val(form, "name");
    const body = await file.arrayBuffer();
    const ans = await api(`/v1/plugins/${enc(name)}?kind=${enc(val(form, "kind"))}`, { method: "POST", body, type: "application/wasm" });
    return ["Uploaded ", pluginLink(ans.name || name), ` version @${ans.version != null ? ans.version : ans.latest}.`];
  },
});

views.plugin.actions = (route, p) => {
  const out = h("div", { class: "try-output" });
  return [
    h("h2", null, "Try it"),
    action({
      id: "try-plugin",
      title: "Run on sample records",
      open: true,
      check: ["plugin", p.name, "describe"],
      button: "Run",
      fields: () => [
        field("Version", select("version", [...p.versions].reverse().map((v) => [String(v.version), `@${v.version}`]), String(p.latest))),
        p.kind === "partitioner" ? field("Partitions", input("partitions", { type: "number", min: 1, value: 6 })) : field("Partition", input("partition", { type: "number", min: 0, value: 0 })),
        field("Params", input("params", { placeholder: "key=value, key=value (override the defaults)" })),
        field("Key separator", input("sep", { placeholder: "e.g. : (text before it is the key)", size: 6 })),
        field("Records, one per line", h("textarea", { name: "records", rows: 5, required: true, placeholder: '{"customer_id":"c-1"}' })),
      ],
      async submit(form) {
        const sep = form.elements.sep.value;
        const lines = form.elements.records.value.split("\n").map((l) => l.replace(/\r$/, "")).filter((l) => l !== "");
        const records = lines.map((l) => {
          const i = sep ? l.indexOf(sep) : -1;
          return i >= 0 ? { key: l.slice(0, i), value: l.slice(i + sep.length) } : { value: l };
        });
        const req = { version: Number(val(form, "version")), records, params: kvPairs(val(form, "params"), "params") };
        if (p.kind === "partitioner") req.partitions = Number(val(form, "partitions")) || 1;
        else req.partition = Number(val(form, "partition")) || 0;
        const ans = await api(`/v1/plugins/${enc(p.name)}/test`, { method: "POST", json: req });
        const rows = ans.outputs.map((o) => h("tr", { "data-offset": o.offset },
          numCell("input", o.offset),
          o.partition != null ? numCell("partition", o.partition) : null,
          bytesCell("key", o.key, o.key_encoding),
          bytesCell("value", o.value, o.value_encoding),
          cell("headers", (o.headers || []).map((x) => `${x.key}=${x.value}`).join(", "), { class: "mono wrap" })));
        out.replaceChildren(table([["Input #", { num: true }], ans.kind === "partitioner" ? ["Partition", { num: true }] : null, "Key", "Value", "Headers"].filter(Boolean),
          rows, "The processor emitted nothing.", { id: "try-results" }));
        return [`${ans.plugin} (${ans.kind}): ${plural(records.length, "record")} in, ${plural(ans.outputs.length, "output")}.`, out];
      },
    }),
  ];
};

// ---------------------------------------------------------------- cluster

views.cluster.actions = () => action({
  id: "elect-all",
  title: "Elect preferred leaders (every topic)",
  button: "Elect",
  check: ["cluster", "", "alter"],
  fields: () => [h("p", { class: "muted" }, "Moves the leadership of every partition not led by its preferred (first) replica back to it, where that replica is in sync.")],
  async submit() { return jsonBlock(await api("/v1/partitions/elect-leaders", { method: "POST", json: {} })); },
});
