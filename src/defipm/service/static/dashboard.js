// defipm dashboard: draws the Plotly figures from the page's JSON blocks, applies live updates from the
// Server-Sent Events stream, and sends the kill-switch and pause requests with the operator's token.
// Served as a file (the pages' Content-Security-Policy allows no inline script); the token is read from the
// form when a button is pressed and kept nowhere else.
"use strict";

(function () {
  const MAX_LIVE = 50;

  function json(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function money(value) {
    if (value === null || value === undefined || value === "") return "-";
    return Number(value).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function when(iso) {
    return iso ? iso.replace("T", " ").slice(0, 19) : "-";
  }

  function cell(tag, text, cls) {
    const el = document.createElement(tag);
    el.textContent = text === null || text === undefined ? "" : String(text);
    if (cls) el.className = cls;
    return el;
  }

  const layout = { margin: { t: 10, r: 10, b: 40, l: 60 }, legend: { orientation: "h" } };

  const figures = {
    equity(el, d) {
      const x = d.points.map((p) => p.timestamp);
      Plotly.newPlot(el, [
        { x, y: d.points.map((p) => Number(p.equity)), name: "equity", type: "scatter", mode: "lines" },
        { x, y: d.points.map((p) => p.drawdown), name: "drawdown", type: "scatter", mode: "lines",
          fill: "tozeroy", yaxis: "y2", line: { color: "#cf222e" } },
      ], Object.assign({}, layout, {
        yaxis: { title: "equity", domain: [0.35, 1] },
        yaxis2: { title: "drawdown", domain: [0, 0.28], tickformat: ".1%" },
      }), { displaylogo: false, responsive: true });
    },
    weights(el, d) {
      const symbols = d.map((p) => p.symbol);
      Plotly.newPlot(el, [
        { x: symbols, y: d.map((p) => p.weight), name: "actual", type: "bar" },
        { x: symbols, y: d.map((p) => p.target_after_limits), name: "target (after limits)", type: "bar" },
        { x: symbols, y: d.map((p) => p.target), name: "target (oracle)", type: "bar" },
      ], Object.assign({}, layout, { barmode: "group", yaxis: { tickformat: ".0%" } }),
      { displaylogo: false, responsive: true });
    },
    pnl(el, d) {
      const names = d.map((s) => s.strategy);
      Plotly.newPlot(el, [
        { x: names, y: d.map((s) => Number(s.profit_native) / 1e18), name: "profit, net of gas (native)", type: "bar" },
        { x: names, y: d.map((s) => Number(s.gas_cost_wei) / 1e18), name: "gas paid (native)", type: "bar" },
      ], Object.assign({}, layout, { barmode: "group" }), { displaylogo: false, responsive: true });
    },
  };

  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach((el) => {
      const d = json(el.dataset.source);
      if (d) figures[el.dataset.figure](el, d);
    });
  }

  function prepend(tableId, key, cells) {
    const body = document.querySelector(`#${tableId} tbody`);
    if (!body) return null;
    const old = body.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
    const row = document.createElement("tr");
    row.dataset.key = key;
    cells.forEach((c) => row.appendChild(c));
    if (old) old.replaceWith(row); else body.prepend(row);
    return row;
  }

  function onCycle(d) {
    const run = document.body.dataset.run;
    const equity = cell("td", money(d.equity), "num");
    equity.dataset.value = d.equity || "";
    const notes = cell("td", (d.notes || []).concat(d.error ? [d.error] : []).join(" · "));
    if (run === d.run) {
      const row = prepend("cycles", d.id, [cell("td", when(d.timestamp)), cell("td", d.status), equity,
        cell("td", money(d.fees), "num"), notes]);
      if (row) row.dataset.cycle = d.id;
      if (d.equity) {
        const shown = document.getElementById("equity");
        shown.textContent = money(d.equity);
        shown.dataset.value = d.equity;
        document.getElementById("as-of").textContent = when(d.timestamp);
        const chart = document.getElementById("equity-chart");
        if (window.Plotly && chart.data) Plotly.extendTraces(chart, { x: [[d.timestamp]], y: [[Number(d.equity)]] }, [0]);
      }
    }
    const overview = document.querySelector(`#runs tr[data-run="${CSS.escape(d.run)}"] td.num`);
    if (overview && d.equity) { overview.textContent = money(d.equity); overview.dataset.value = d.equity; }
  }

  function showKillSwitch(engaged, reason) {
    const badge = document.getElementById("kill-state");
    if (!badge) return;
    badge.textContent = engaged ? "kill switch engaged" : "trading allowed";
    badge.className = "badge " + (engaged ? "bad" : "good");
    document.getElementById("kill-reason").textContent = engaged ? `reason: ${reason}` : "";
  }

  function onRisk(d) {
    if (d.source === "kill_switch" && d.run === document.body.dataset.run) showKillSwitch(d.engaged, d.reason);
    if (d.source === "arb_risk" && d.state) {
      const paused = document.querySelector(`#arb-runs tr[data-run="${CSS.escape(d.run)}"] td.paused`);
      if (paused) paused.replaceChildren(cell("span", d.state.paused ? "paused" : "no", d.state.paused ? "bad" : "good"));
    }
  }

  function onOpportunity(d) {
    prepend("opportunities", d.id, [cell("td", when(d.detected_at)), cell("td", d.strategy),
      cell("td", d.amount_in, "num"), cell("td", d.estimated_profit, "num"), cell("td", "")]);
  }

  function onExecution(d) {
    if (d.source === "result") {
      prepend("executions", `result-${d.id}`, [cell("td", when(d.executed_at)), cell("td", "-"), cell("td", d.engine),
        cell("td", d.success ? "ok" : d.reason, d.success ? "good" : "bad"), cell("td", d.profit_native || "-", "num"),
        cell("td", d.gas_used, "num"), cell("td", "")]);
    } else {
      prepend("journal", d.id, [cell("td", when(d.updated_at)), cell("td", d.run), cell("td", d.status),
        cell("td", d.profit_native || "-", "num"), cell("td", "", "num"), cell("td", d.reason || "")]);
    }
  }

  const handlers = { cycle: onCycle, risk: onRisk, opportunity: onOpportunity, execution: onExecution };

  function log(kind, d) {
    const list = document.getElementById("live");
    if (!list) return;
    const item = cell("li", `${new Date().toISOString().slice(11, 19)} ${kind} ${d.run || ""} ${d.status || d.source || d.id || ""}`);
    item.dataset.kind = kind;
    list.prepend(item);
    while (list.children.length > MAX_LIVE) list.lastChild.remove();
  }

  function live() {
    const url = document.body.dataset.events;
    const state = document.getElementById("live-state");
    if (!url || !window.EventSource) return;
    const source = new EventSource(url);
    source.addEventListener("ready", () => {
      state.textContent = "live";
      state.classList.add("on");
      document.body.dataset.live = "ready";
    });
    source.onerror = () => { state.textContent = "reconnecting"; state.classList.remove("on"); };
    for (const kind of ["cycle", "fill", "risk", "opportunity", "execution", "error"]) {
      source.addEventListener(kind, (e) => {
        const d = JSON.parse(e.data);
        log(kind, d);
        if (handlers[kind]) handlers[kind](d);
      });
    }
  }

  async function send(form, button) {
    const out = form.querySelector("output");
    const token = form.elements.namedItem("token").value.trim();
    const on = button.value === "true";
    const body = form.id === "kill-form"
      ? { engaged: on, reason: on ? form.elements.namedItem("reason").value : null }
      : { paused: on };
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    out.textContent = "sending ...";
    let answer = {};
    let status = 0;
    try {
      const response = await fetch(form.dataset.action, { method: "POST", headers, body: JSON.stringify(body) });
      status = response.status;
      answer = await response.json().catch(() => ({}));
    } catch (err) {
      answer = { error: String(err) };
    }
    out.dataset.status = String(status);
    out.textContent = status === 200 ? "done" : `refused (${status}): ${answer.error || "no answer"}`;
    if (status === 200 && answer.kill_switch) showKillSwitch(answer.kill_switch.engaged, answer.kill_switch.reason);
    if (status === 200 && answer.risk) onRisk({ source: "arb_risk", run: answer.run, state: answer.risk });
  }

  function controls() {
    document.querySelectorAll("form.control").forEach((form) => {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        send(form, ev.submitter);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    draw();
    controls();
    live();
  });
})();
