// The live traffic view: reads /api/tap/stream (server-sent events) with the filter of the form
// and keeps the newest ROWS_MAX rows. Other pages are plain server-rendered HTML; the reset form
// turns its date picker (the browser's local time) into milliseconds since 1970.
"use strict";
(function () {
  const reset = document.getElementById("reset-offset");
  if (!reset) return;
  reset.elements.when.addEventListener("change", function () {
    const ms = new Date(reset.elements.when.value).getTime();
    if (!Number.isNaN(ms)) reset.elements.timestamp.value = String(ms);
  });
})();
(function () {
  const table = document.querySelector("#tap tbody");
  if (!table) return;
  const ROWS_MAX = 500;
  const form = document.getElementById("tap-filter");
  const status = document.getElementById("tap-status");
  let source = null;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
  }

  function show(event) {
    const row = document.createElement("tr");
    row.className = event.reply ? "tap-event tap-reply" : "tap-event";
    row.dataset.code = event.codeName;
    if (event.reply) row.dataset.reply = event.reply.codeName;
    cell(row, new Date(event.atMs).toISOString().substring(11, 23));
    cell(row, event.server);
    cell(row, event.direction);
    cell(row, event.codeName);
    cell(row, event.caller);
    cell(row, event.topic);
    cell(row, event.periodMs === null ? "" : (event.periodMs / 1000).toFixed(1) + " s");
    const reply = event.reply;
    cell(row, reply ? reply.codeName + " in " + reply.latencyMs + " ms" + (reply.remark ? ": " + reply.remark : "") : "");
    cell(row, Object.entries(event.fields).map(([k, v]) => k + "=" + v).join(" "));
    table.insertBefore(row, table.firstChild);
    while (table.rows.length > ROWS_MAX) table.deleteRow(table.rows.length - 1);
  }

  function connect() {
    if (source) source.close();
    const query = new URLSearchParams(new FormData(form)).toString();
    source = new EventSource("/api/tap/stream?" + query);
    source.onopen = function () { status.textContent = "watching"; };
    source.onmessage = function (message) { show(JSON.parse(message.data)); };
    source.addEventListener("missed", function (message) {
      status.textContent = "watching (" + message.data + " events dropped: reader too slow)";
    });
    source.onerror = function () { status.textContent = "reconnecting"; };
  }

  form.addEventListener("submit", function (submit) {
    submit.preventDefault();
    table.replaceChildren();
    connect();
  });
  connect();
})();
