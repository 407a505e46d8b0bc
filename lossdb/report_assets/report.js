// lossdb report: draws the worst sequences from the JSON in #data, switches their ranking,
// filters them by token or word, shows a token's details on hover or focus, sorts tables.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var list = document.getElementById("seqs");
  var tip = document.getElementById("tip");
  var count = document.getElementById("count");
  var search = document.getElementById("search");
  var built = {};
  var by = "total_loss";
  var RANK_NAMES = {total_loss: "total loss", mean_loss: "mean loss", label_quality: "label quality"};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fixed(x, d) { return x === null || x === undefined ? "n/a" : Number(x).toFixed(d); }
  function norm(s) { return String(s).toLowerCase().replace(/^(\u2581|##|\u0120)/, ""); }
  function entClass(type) { return ["PER", "ORG", "LOC", "MISC"].indexOf(type) >= 0 ? type : "other"; }

  function bands(spans, n) {
    var out = new Array(n);
    spans.forEach(function (s) {
      for (var i = s[0]; i <= s[1] && i < n; i++) out[i] = {type: s[2], s: i === s[0], e: i === s[1]};
    });
    return out;
  }
  function band(b, side) {
    var e = el("span", "ent " + side);
    if (b) {
      e.className += " " + entClass(b.type) + (b.s ? " s" : "") + (b.e ? " e" : "");
      if (b.s) e.textContent = b.type;
      e.title = (side === "g" ? "gold " : "predicted ") + b.type;
    }
    return e;
  }

  function build(id) {
    if (built[id]) return built[id];
    var s = data.seqs[id];
    var li = el("li", "seq");
    li.dataset.seq = id;
    var head = el("div", "head");
    li.appendChild(head);
    var line = el("div", "line");
    var lab = el("span", "rowlab");
    ["gold", "token", "loss", "pred"].forEach(function (name, i) {
      lab.appendChild(el("span", ["r-g", "r-txt", "r-loss", "r-p"][i], name));
    });
    line.appendChild(lab);
    var n = s.t.length, gb = bands(s.gs, n), pb = bands(s.ps, n);
    for (var i = 0; i < n; i++) {
      var t = el("span", "tok");
      t.tabIndex = 0;
      t.dataset.i = i;
      t.appendChild(band(gb[i], "g"));
      var txt = el("span", "txt", s.t[i]);
      var a = Math.min(1, s.l[i] / data.scale);
      if (a > 0) txt.style.background = "rgba(" + data.rgb + "," + a.toFixed(3) + ")";
      if (a > 0.55) txt.style.color = "#fff";
      t.appendChild(txt);
      t.appendChild(el("span", "loss", fixed(s.l[i], 2)));
      t.appendChild(band(pb[i], "p"));
      line.appendChild(t);
    }
    li.appendChild(line);
    li.appendChild(el("div", "words", s.w.join(" ")));
    var keys = {};
    s.t.forEach(function (x) { keys[norm(x)] = 1; keys[String(x).toLowerCase()] = 1; });
    s.w.forEach(function (x) { keys[norm(x)] = 1; });
    li._keys = keys;
    built[id] = li;
    return li;
  }

  function heading(li, rank) {
    var s = data.seqs[li.dataset.seq], head = li.firstChild;
    head.textContent = "";
    head.appendChild(el("b", null, "#" + rank));
    head.appendChild(document.createTextNode(
      "  seq_id " + s.id + "  \u00b7  total loss " + fixed(s.total, 2) + "  \u00b7  mean loss " + fixed(s.mean, 3) +
      "  \u00b7  label quality " + fixed(s.lq, 3) + "  \u00b7  " + s.errors + " wrong of " + s.labelled + " labelled"));
  }

  function matches(li, q) {
    if (!q) return true;
    if (q.charAt(q.length - 1) === "*") {
      var p = q.slice(0, -1);
      return Object.keys(li._keys).some(function (k) { return k.indexOf(p) === 0; });
    }
    return li._keys.hasOwnProperty(q);
  }

  function show() {
    var q = norm(search.value.trim());
    var ids = data.orders[by] || [];
    var frag = document.createDocumentFragment(), shown = 0;
    ids.forEach(function (id, k) {
      var li = build(id);
      heading(li, k + 1);
      li.hidden = !matches(li, q);
      if (!li.hidden) shown++;
      frag.appendChild(li);
    });
    list.textContent = "";
    list.appendChild(frag);
    count.textContent = (q ? shown + " of " : "") + ids.length + " sequences, ranked by " + RANK_NAMES[by] +
      (by === "label_quality" ? " (lowest first)" : " (highest first)");
  }

  document.querySelectorAll("button[data-by]").forEach(function (b) {
    b.addEventListener("click", function () {
      by = b.dataset.by;
      document.querySelectorAll("button[data-by]").forEach(function (o) { o.setAttribute("aria-pressed", String(o === b)); });
      show();
    });
  });
  search.addEventListener("input", show);

  function tipFor(tok) {
    var s = data.seqs[tok.closest("li.seq").dataset.seq], i = +tok.dataset.i;
    tip.textContent = "";
    tip.appendChild(el("div", null, s.t[i]));
    var facts = el("div");
    [["label", s.g[i]], ["pred", s.p[i]], ["loss", fixed(s.l[i], 4)]].forEach(function (f) {
      facts.appendChild(el("span", "k", f[0] + " "));
      facts.appendChild(document.createTextNode(f[1] + "  "));
    });
    tip.appendChild(facts);
    var k = s.k[i] || [], table = el("table");
    for (var j = 0; j + 1 < k.length; j += 2) {
      var tr = el("tr");
      tr.appendChild(el("td", null, data.labels[k[j]]));
      var td = el("td"), bar = el("span", "bar");
      bar.style.width = Math.round(80 * k[j + 1]) + "px";
      td.appendChild(bar);
      tr.appendChild(td);
      tr.appendChild(el("td", null, fixed(k[j + 1], 3)));
      table.appendChild(tr);
    }
    tip.appendChild(table);
    var r = tok.getBoundingClientRect();
    tip.hidden = false;
    var left = Math.min(r.left, window.innerWidth - tip.offsetWidth - 8);
    var top = r.bottom + 6;
    if (top + tip.offsetHeight > window.innerHeight) top = r.top - tip.offsetHeight - 6;
    tip.style.left = Math.max(4, left) + "px";
    tip.style.top = Math.max(4, top) + "px";
  }
  function hide() { tip.hidden = true; }
  list.addEventListener("mouseover", function (e) { var t = e.target.closest(".tok"); if (t) tipFor(t); });
  list.addEventListener("mouseout", function (e) { if (e.target.closest(".tok")) hide(); });
  list.addEventListener("focusin", function (e) { var t = e.target.closest(".tok"); if (t) tipFor(t); });
  list.addEventListener("focusout", hide);

  // Sortable tables: click a header; numbers (data-v) sort as numbers, the rest as text.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, col) {
      th.tabIndex = 0;
      function sort() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var u = x.dataset.v !== undefined ? parseFloat(x.dataset.v) : NaN;
          var v = y.dataset.v !== undefined ? parseFloat(y.dataset.v) : NaN;
          var c = !isNaN(u) && !isNaN(v) ? u - v : x.textContent.localeCompare(y.textContent);
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });

  show();
})();
