// The report's tables: click a header to sort, type in the box above to filter.
// Plain DOM, no library; runs once the page is parsed, and touches nothing but the page.
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    if (numeric) {
      var n = parseFloat(raw);
      return isNaN(n) ? -Infinity : n;
    }
    return raw.trim().toLowerCase();
  }

  function setUp(table) {
    var body = table.tBodies[0];
    if (!body) return;
    var rows = Array.prototype.slice.call(body.rows);
    var texts = null; // each row's text in lower case, made at the first filtering
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      if (th.getAttribute("data-sort") === "no") return;
      th.tabIndex = 0;
      var sort = function () {
        var numeric = th.getAttribute("data-type") === "num";
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyed = rows.map(function (row, i) {
          return { row: row, key: cellValue(row, index, numeric), i: i };
        });
        keyed.sort(function (a, b) {
          if (a.key < b.key) return ascending ? -1 : 1;
          if (a.key > b.key) return ascending ? 1 : -1;
          return a.i - b.i; // stable: ties keep the page's order
        });
        var fragment = document.createDocumentFragment();
        keyed.forEach(function (k) { fragment.appendChild(k.row); });
        body.appendChild(fragment);
        rows = keyed.map(function (k) { return k.row; });
        texts = null;
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });

    var input = document.querySelector('input[data-filter="' + table.id + '"]');
    var count = document.querySelector('[data-count="' + table.id + '"]');
    if (!input) return;
    var show = function () {
      var query = input.value.trim().toLowerCase();
      if (texts === null) {
        texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
      }
      var shown = 0;
      rows.forEach(function (row, i) {
        var match = !query || texts[i].indexOf(query) !== -1;
        row.hidden = !match;
        if (match) shown += 1;
      });
      if (count) {
        count.textContent = query
          ? shown + " of " + rows.length + (rows.length === 1 ? " row" : " rows") + (shown === 1 ? " matches" : " match")
          : rows.length + (rows.length === 1 ? " row" : " rows");
      }
    };
    input.addEventListener("input", show);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.data"), setUp);
    document.documentElement.setAttribute("data-ready", "1");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
