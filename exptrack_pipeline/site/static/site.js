// exptrack dashboard: small progressive enhancements; every page is complete without JavaScript.
(function () {
  "use strict";
  function filterRows(form, items) {
    var selects = form.querySelectorAll("select[data-filter]");
    var q = form.querySelector("#q");
    var shown = 0;
    items.forEach(function (el) {
      var ok = true;
      selects.forEach(function (s) {
        var want = s.value, key = s.getAttribute("data-filter");
        if (want && (" " + (el.getAttribute("data-" + key) || "") + " ").indexOf(" " + want + " ") < 0) ok = false;
      });
      if (q && q.value.trim() && el.textContent.toLowerCase().indexOf(q.value.trim().toLowerCase()) < 0) ok = false;
      el.hidden = !ok;
      if (ok) shown += 1;
    });
    var counter = form.querySelector("#shown");
    if (counter) counter.textContent = shown + " of " + items.length + " shown";
    var none = document.getElementById("no-match");
    if (none) none.hidden = shown > 0;
  }
  function wire(formId, selector) {
    var form = document.getElementById(formId);
    if (!form) return;
    var items = Array.prototype.slice.call(document.querySelectorAll(selector));
    form.hidden = false;
    form.addEventListener("input", function () { filterRows(form, items); });
    form.addEventListener("change", function () { filterRows(form, items); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    var params = new URLSearchParams(window.location.search);
    var q = form.querySelector("#q");
    if (q && params.get("q")) q.value = params.get("q");
    filterRows(form, items);
  }
  wire("filters", "#portfolio tbody tr.experiment");
  wire("learning-search", "#library .learning-card");
  // Toggle a variant's series in a chart.
  document.querySelectorAll("figure.chart .toggles").forEach(function (box) {
    box.hidden = false;
    var fig = box.closest("figure");
    box.addEventListener("change", function (e) {
      var name = e.target.getAttribute("data-toggle");
      fig.querySelectorAll('g.series[data-series="' + CSS.escape(name) + '"]').forEach(function (g) {
        g.classList.toggle("off", !e.target.checked);
      });
    });
  });
})();
