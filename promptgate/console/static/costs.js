// The Costs chart: spend per bucket, one line per project/model/token/alias,
// anomaly and budget events drawn as vertical markers. Data comes from the
// JSON block the server rendered (no inline script: CSP).
(function () {
  "use strict";
  var holder = document.getElementById("chart");
  var source = document.getElementById("cost-data");
  if (!holder || !source || !window.uPlot) { return; }
  var report = JSON.parse(source.textContent);
  var palette = ["#4f7cff", "#f28e2b", "#2ca58d", "#e15759", "#9c6ade", "#edc948", "#76b7b2", "#ff9da7"];
  var names = Object.keys(report.series).sort();
  var xs = report.buckets.map(function (iso) { return Date.parse(iso) / 1000; });
  var data = [xs].concat(names.map(function (n) { return report.series[n].map(Number); }));
  var events = report.events.map(function (e) { return { t: Date.parse(e.time) / 1000, type: e.type }; });

  function color(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function markers(u) {
    var ctx = u.ctx;
    ctx.save();
    events.forEach(function (e) {
      var x = u.valToPos(e.t, "x", true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) { return; }
      ctx.strokeStyle = e.type === "budget.exceeded" ? "#e15759" : "#edc948";
      ctx.lineWidth = 2 * devicePixelRatio;
      ctx.setLineDash([6, 4]);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    });
    ctx.restore();
  }

  var plot = null;
  function draw() {
    if (plot) { plot.destroy(); }
    var axis = { stroke: color("--muted"), grid: { stroke: color("--grid") }, ticks: { stroke: color("--grid") } };
    plot = new uPlot({
      width: holder.clientWidth || 800,
      height: 320,
      series: [{}].concat(names.map(function (n, i) {
        return {
          label: n,
          stroke: palette[i % palette.length],
          width: 2,
          points: { show: xs.length < 60 },
          value: function (u, v) { return v == null ? "–" : "$" + v.toFixed(4); }
        };
      })),
      axes: [axis, Object.assign({}, axis, { values: function (u, vals) { return vals.map(function (v) { return "$" + v; }); } })],
      scales: { x: { time: true } },
      hooks: { draw: [markers] }
    }, data, holder);
    holder.dataset.series = String(names.length);
  }
  draw();
  window.addEventListener("resize", function () { if (plot) { plot.setSize({ width: holder.clientWidth, height: 320 }); } });
  document.addEventListener("pg-theme", draw);
})();
