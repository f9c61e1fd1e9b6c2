// Live Logs: new requests arrive by server-sent events and go on top.
// Every value is set with textContent, never as HTML: prompts are hostile.
(function () {
  "use strict";
  var MAX_ROWS = 500;
  var state = document.getElementById("live-state");
  var body = document.getElementById("log-rows");
  var template = document.getElementById("row-template");
  if (!state || !body || !template) { return; }

  function model(row) {
    var text = row.model_requested || "–";
    if (row.model_sent && row.model_sent !== row.model_requested) { text += " → " + row.model_sent; }
    return text;
  }

  function render(row) {
    var tr = template.content.firstElementChild.cloneNode(true);
    tr.dataset.id = String(row.id);
    if (row.status >= 400 || row.status === 0) { tr.classList.add("bad"); }
    var link = tr.querySelector("[data-f=time]");
    link.textContent = row.time.slice(0, 19).replace("T", " ");
    link.href = "/logs/" + encodeURIComponent(row.id);
    var values = {
      project: row.project,
      token: row.token || "–",
      model: model(row),
      status: row.status ? String(row.status) : "–",
      input_tokens: row.input_tokens.toLocaleString("en"),
      output_tokens: row.output_tokens.toLocaleString("en"),
      cost: row.cost_usd ? "$" + Number(row.cost_usd).toFixed(6) : "–",
      latency: Math.round(row.latency_ms) + " ms"
    };
    Object.keys(values).forEach(function (name) {
      tr.querySelector("[data-f=" + name + "]").textContent = values[name];
    });
    var findings = tr.querySelector("[data-f=findings]");
    row.findings.forEach(function (rule) {
      var tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = rule;
      findings.appendChild(tag);
    });
    return tr;
  }

  function add(rows) {
    var empty = document.getElementById("no-rows");
    if (empty) { empty.remove(); }
    // Rows come newest first; insert the oldest first so the newest ends on top.
    for (var i = rows.length - 1; i >= 0; i--) {
      if (body.querySelector("tr[data-id='" + rows[i].id + "']")) { continue; }
      body.insertBefore(render(rows[i]), body.firstChild);
    }
    while (body.children.length > MAX_ROWS) { body.removeChild(body.lastChild); }
  }

  var source = new EventSource(state.dataset.stream);
  source.addEventListener("rows", function (event) { add(JSON.parse(event.data)); });
  source.addEventListener("open", function () { state.textContent = "live"; state.classList.add("live"); });
  source.addEventListener("error", function () { state.textContent = "reconnecting"; state.classList.remove("live"); });
})();
