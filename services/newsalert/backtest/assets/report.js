"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#d53f8c", "#805ad5", "#319795",
    "#b7791f", "#e53e3e", "#718096"];
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value; else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    return node;
  }
  function fmt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en"); }
  function when(iso) { return iso ? iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, "") : "–"; }
  function pct(x) { return x === null || x === undefined ? "–" : x.toFixed(2); }
  function marked(text, marks) {
    const span = el("span");
    let at = 0;
    for (const [start, end] of marks) {
      span.append(text.slice(at, start));
      span.append(el("mark", {}, text.slice(start, end)));
      at = end;
    }
    span.append(text.slice(at));
    return span;
  }
  function section(title, ...children) { return el("section", {}, el("h2", {}, title), ...children); }

  function cards() {
    const range = data.range;
    document.getElementById("subtitle").textContent =
      data.source + " · article time " + when(range.first_article) + " → " + when(range.last_article) +
      (range.from ? " (requested " + when(range.from) + " → " + when(range.to) + ")" : "") +
      " · generated " + when(data.generated);
    const fired = data.rules.filter((r) => r.raw_matches > 0).length;
    const alerts = data.rules.reduce((sum, r) => sum + r.alerts, 0);
    const raw = data.rules.reduce((sum, r) => sum + r.raw_matches, 0);
    const items = [["articles", fmt(data.articles)], ["invalid records", fmt(data.invalid)],
      ["exact duplicates", fmt(data.duplicates)], ["raw matches", fmt(raw)],
      ["alerts", fmt(alerts)], ["rules fired", fmt(fired) + " / " + fmt(data.rules.length)],
      ["records / s", fmt(Math.round(data.records_per_s))]];
    if (data.compare) {
      items.push(["only in A", fmt(data.compare.totals.only_a)], ["only in B", fmt(data.compare.totals.only_b)]);
    }
    return el("div", { class: "cards" }, ...items.map(([k, v]) =>
      el("div", { class: "card" }, el("div", { class: "v" }, v), el("div", { class: "k" }, k))));
  }

  function chart() {
    const line = data.timeline;
    const holder = el("div", { id: "timeline-chart" });
    if (!line.starts.length) {
      holder.append(el("p", { class: "muted" }, "No alerts in this run."));
      return section("Alerts over time", holder);
    }
    const totals = Object.entries(line.series).map(([id, counts]) => [id, counts.reduce((a, b) => a + b, 0)]);
    totals.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = totals.slice(0, PALETTE.length - 1).map(([id]) => id);
    const layers = top.map((id) => [id, line.series[id]]);
    if (totals.length > top.length) {
      const other = line.starts.map(() => 0);
      for (const [id] of totals.slice(top.length)) line.series[id].forEach((c, i) => { other[i] += c; });
      layers.push(["other rules", other]);
    }
    const width = 1100, height = 260, left = 44, bottom = 28, top_ = 10;
    const n = line.starts.length;
    const stacks = line.starts.map((_, i) => layers.reduce((s, [, c]) => s + c[i], 0));
    const max = Math.max(1, ...stacks);
    const bw = (width - left - 10) / n;
    const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
      "aria-label": "alerts per " + line.unit + " by rule" });
    for (let t = 0; t <= 4; t++) {
      const v = Math.round(max * t / 4), y = height - bottom - (height - bottom - top_) * v / max;
      plot.append(svg("line", { x1: left, x2: width - 10, y1: y, y2: y, stroke: "#e6e9ee" }));
      const label = svg("text", { x: left - 6, y: y + 4, "text-anchor": "end" });
      label.textContent = String(v);
      plot.append(label);
    }
    line.starts.forEach((start, i) => {
      let y = height - bottom;
      layers.forEach(([id, counts], k) => {
        if (!counts[i]) return;
        const h = (height - bottom - top_) * counts[i] / max;
        y -= h;
        const bar = svg("rect", { x: left + i * bw + 1, y: y, width: Math.max(1, bw - 2), height: h,
          fill: PALETTE[k % PALETTE.length], class: "bar" });
        const tip = svg("title");
        tip.textContent = `${id}: ${counts[i]} alert(s), ${line.unit} of ${when(start)}`;
        bar.append(tip);
        plot.append(bar);
      });
    });
    const ticks = Math.min(n, 8);
    for (let t = 0; t < ticks; t++) {
      const i = Math.floor(t * n / ticks);
      const label = svg("text", { x: left + i * bw, y: height - 8 });
      label.textContent = when(line.starts[i]).slice(0, line.unit.includes("minute") || line.unit.includes("hour") ? 16 : 10);
      plot.append(label);
    }
    holder.append(plot);
    const legend = el("div", { class: "legend" }, ...layers.map(([id], k) =>
      el("span", {}, el("i", { style: "background:" + PALETTE[k % PALETTE.length] }), id)));
    holder.append(legend);
    return section("Alerts over time (per " + line.unit + ", article time)", holder);
  }

  function spark(counts, color, scaleMax) {
    const w = 120, h = 22, n = counts.length, max = Math.max(1, scaleMax || 0, ...counts);
    const box = svg("svg", { width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: "spark" });
    const bw = w / Math.max(n, 1);
    counts.forEach((c, i) => {
      if (!c) return;
      const bh = Math.max(1.5, (h - 2) * c / max);
      box.append(svg("rect", { x: i * bw, y: h - bh, width: Math.max(1, bw - 0.5), height: bh, fill: color || "#2b6cb0" }));
    });
    return box;
  }

  function rulesTable() {
    const diff = {};
    if (data.compare) for (const d of data.compare.diff) diff[d.rule_id] = d;
    const columns = [["rule", "rule_id"], ["title", "title"], ["matches", "raw_matches"], ["alerts", "alerts"],
      ["folded", "folded"], ["first hit", "first_hit"], ["last hit", "last_hit"]];
    if (data.compare) columns.push(["−A / +B", "delta"]);
    const rows = data.rules.map((r) => Object.assign({}, r, { delta: diff[r.rule_id] ? diff[r.rule_id].only_b - diff[r.rule_id].only_a : 0 }));
    const body = el("tbody");
    const head = el("tr", {}, ...columns.map(([label]) => el("th", {}, label)), el("th", {}, "alerts over time"));
    let sortKey = "alerts", asc = false, filter = "";
    function draw() {
      body.replaceChildren();
      const shown = rows.filter((r) => !filter || r.rule_id.toLowerCase().includes(filter) ||
        (r.title || "").toLowerCase().includes(filter));
      shown.sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        const c = x === y ? 0 : (x === null ? -1 : y === null ? 1 : x < y ? -1 : 1);
        return (asc ? c : -c) || (a.rule_id < b.rule_id ? -1 : 1);
      });
      for (const r of shown.slice(0, 500)) {
        const tr = el("tr", {}, el("td", { class: "id" }, r.rule_id), el("td", {}, r.title || ""),
          el("td", { class: "n" }, fmt(r.raw_matches)), el("td", { class: "n" }, fmt(r.alerts)),
          el("td", { class: "n" }, fmt(r.folded)), el("td", {}, when(r.first_hit)), el("td", {}, when(r.last_hit)));
        if (data.compare) {
          const d = diff[r.rule_id];
          tr.append(el("td", { class: "n" }, d && (d.only_a || d.only_b) ? el("span", {},
            el("span", { class: "del" }, "−" + d.only_a), " ", el("span", { class: "add" }, "+" + d.only_b)) : ""));
        }
        const series = data.timeline.series[r.rule_id];
        tr.append(el("td", {}, series ? spark(series) : ""));
        body.append(tr);
      }
      [...head.children].forEach((th, i) => {
        const key = columns[i] ? columns[i][1] : null;
        th.className = key === sortKey ? "sorted" + (asc ? " asc" : "") : "";
      });
    }
    [...head.children].forEach((th, i) => {
      if (!columns[i]) return;
      th.addEventListener("click", () => {
        const key = columns[i][1];
        asc = key === sortKey ? !asc : key === "rule_id" || key === "title";
        sortKey = key;
        draw();
      });
    });
    const search = el("input", { type: "search", placeholder: "filter rules…" });
    search.addEventListener("input", () => { filter = search.value.toLowerCase(); draw(); });
    draw();
    const note = rows.length > 500 ? el("p", { class: "muted" }, "Showing the first 500 rows; filter to find others.") : null;
    return section("Rules (" + fmt(rows.length) + ")", search, note,
      el("table", { id: "rules-table" }, el("thead", {}, head), body));
  }

  function samples() {
    const fired = data.rules.filter((r) => r.samples.length).sort((a, b) => b.alerts - a.alerts || (a.rule_id < b.rule_id ? -1 : 1));
    const blocks = fired.slice(0, 200).map((r, i) => {
      const det = el("details", i < 5 ? { open: "" } : {}, el("summary", {}, el("b", {}, r.rule_id), " ",
        el("span", { class: "muted" }, (r.title || "") + " · " + fmt(r.alerts) + " alerts")));
      for (const s of r.samples) {
        det.append(el("div", { class: "sample" },
          el("div", { class: "t" }, el("span", { class: "muted" }, when(s.time) + "  "), marked(s.title, s.title_marks)),
          s.snippet ? el("div", { class: "s" }, marked(s.snippet, s.snippet_marks)) : null,
          el("div", { class: "s" }, "matched: " + s.matched.join(", "))));
      }
      return det;
    });
    return section("Samples (matched terms highlighted)", ...(blocks.length ? blocks : [el("p", { class: "muted" }, "No rule fired.")]));
  }

  function silentAndSlow() {
    const silent = data.never_fired;
    const chips = el("div", { class: "chips" }, ...silent.slice(0, 300).map((id) => el("span", {}, id)));
    const slow = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "rule"), el("th", {}, "µs / evaluation"),
      el("th", {}, "evaluations"), el("th", {}, "total ms"))),
      el("tbody", {}, ...data.slowest_rules.map((t) => el("tr", {}, el("td", { class: "id" }, t.rule_id),
        el("td", { class: "n" }, t.mean_us.toFixed(1)), el("td", { class: "n" }, fmt(t.evaluations)),
        el("td", { class: "n" }, t.total_ms.toFixed(2))))));
    return [section("Rules that never fired (" + fmt(silent.length) + ")", silent.length ? chips : el("p", { class: "muted" }, "Every rule fired.")),
      section("Slowest rules (sampled, each rule timed alone)", slow)];
  }

  function comparison() {
    const c = data.compare;
    const changed = c.diff.filter((d) => d.only_a || d.only_b || d.in_a !== d.in_b);
    const empty = data.timeline.starts.map(() => 0);
    const blocks = changed.map((d) => {
      const a = data.timeline.series[d.rule_id] || empty, b = (c.series || {})[d.rule_id] || empty;
      const top = Math.max(1, ...a, ...b);
      const det = el("details", { open: "" }, el("summary", {}, el("b", {}, d.rule_id), "  ",
        el("span", { class: "del" }, "−" + d.only_a), " ", el("span", { class: "add" }, "+" + d.only_b),
        el("span", { class: "muted" }, "  = " + d.both + (d.in_a && d.in_b ? "" : d.in_a ? "  (rule only in A)" : "  (rule only in B)"))));
      if (data.timeline.starts.length && (d.only_a || d.only_b || d.both)) {
        det.append(el("div", { class: "sample muted" }, "A ", spark(a, "#b42318", top), "  B ", spark(b, "#1f7a3a", top)));
      }
      for (const e of d.examples_a) det.append(el("div", { class: "sample del" }, "− " + when(e.time) + "  " + e.title + "  (" + e.article_id + ")"));
      for (const e of d.examples_b) det.append(el("div", { class: "sample add" }, "+ " + when(e.time) + "  " + e.title + "  (" + e.article_id + ")"));
      return det;
    });
    return section("Compare: A = " + data.rules_file + ", B = " + c.rules_file,
      el("p", {}, "Alerts only in A: " + fmt(c.totals.only_a) + " · only in B: " + fmt(c.totals.only_b) + " · in both: " + fmt(c.totals.both)),
      ...(blocks.length ? blocks : [el("p", { class: "muted" }, "No rule changes its alerts.")]));
  }

  function labels(report, name) {
    const rows = report.rules.map((s) => el("tr", {}, el("td", { class: "id" }, s.rule_id),
      el("td", { class: "n" }, pct(s.precision)), el("td", { class: "n" }, pct(s.recall)), el("td", { class: "n" }, pct(s.f1)),
      el("td", { class: "n" }, s.true_positives), el("td", {}, s.false_positives.join(", ")), el("td", {}, s.misses.join(", "))));
    return section("Labels: " + name + " (" + report.labels + " labels, " + report.outside_run + " outside this run)",
      el("table", {}, el("thead", {}, el("tr", {}, ...["rule", "precision", "recall", "F1", "TP", "false positives", "misses"].map((h) => el("th", {}, h)))),
        el("tbody", {}, ...rows)));
  }

  try {
    root.append(cards(), chart(), rulesTable());
    if (data.compare) root.append(comparison());
    if (data.labels) root.append(labels(data.labels, "A"));
    if (data.compare && data.compare.labels) root.append(labels(data.compare.labels, "B"));
    root.append(samples(), ...silentAndSlow());
    document.body.dataset.rendered = "ok";
  } catch (error) {
    document.body.dataset.rendered = "error";
    root.append(el("pre", {}, "Report failed to render: " + error));
    throw error;
  }
})();
