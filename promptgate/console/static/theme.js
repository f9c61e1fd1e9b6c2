// Light or dark: the system's choice unless the viewer picked one here.
(function () {
  "use strict";
  var root = document.documentElement;
  var saved = null;
  try { saved = localStorage.getItem("pg-theme"); } catch (e) { /* storage blocked */ }
  if (saved === "light" || saved === "dark") { root.dataset.theme = saved; }
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    button.addEventListener("click", function () {
      var dark = root.dataset.theme ? root.dataset.theme === "dark"
        : window.matchMedia("(prefers-color-scheme: dark)").matches;
      root.dataset.theme = dark ? "light" : "dark";
      try { localStorage.setItem("pg-theme", root.dataset.theme); } catch (e) { /* ignore */ }
      document.dispatchEvent(new Event("pg-theme"));
    });
  });
})();
