(function () {
  "use strict";
  // findings and seed-list pages: the rows of data/*.js, a page at a time (#page-N), built as DOM nodes
  // (text only through textContent, so no data is ever parsed as HTML)
  var view = document.getElementById("data-view");
  var data = window.AUDIT || {};
  if (!view) { return; }
  var kind = view.getAttribute("data-kind");
  var seeds = (data.seeds || {}).rows;
  var rows = null;
  try {
    rows = kind === "findings" ? findingRows(data.findings) : data.seeds.order.map(function (i) { return seeds[i]; });
  } catch (e) {
    rows = null;
  }
  var showing = document.getElementById("showing");
  var box = document.getElementById("data-rows");
  // the findings column by column, back to one [record_id, seed row | sha256 | null, evidence] each
  function findingRows(doc) {
    var out = [], at = 0;
    for (var i = 0; i < doc.ids.length; i++) {
      var step = doc.seeds[i], seed = step;
      if (typeof step === "number") { at += step; seed = at; }
      out.push([doc.prefix + doc.ids[i], seed, doc.evidence[String(i)]]);
    }
    return out;
  }
  var rule = view.getAttribute("data-rule");
  if (!rows || !seeds || String(rows.length) !== view.getAttribute("data-total") || (rule && data.findings.rule_id !== rule)) {
    showing.textContent = "The data file of this page (data/*.js beside index.html) is missing or does not match it, so only the first rows are shown; every row is in results.json.";
    showing.className = "alert";
    return;
  }
  var perPage = Math.max(1, parseInt(view.getAttribute("data-per-page"), 10) || 1);
  var nPages = Math.max(1, Math.ceil(rows.length / perPage));
  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function slug(id) { return String(id).replace(/[^A-Za-z0-9_-]/gu, "_").slice(0, 120); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      var c = arguments[i];
      parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return parent;
  }
  function table(heads) {
    var t = el("table", kind === "findings" ? "stack" : "");
    var tr = add(t, el("thead")).firstChild.appendChild(el("tr"));
    heads.forEach(function (h) {
      add(tr, el("th", h[1], h[0])).lastChild.setAttribute("scope", "col");
    });
    return t.appendChild(el("tbody"));
  }
  function seedLink(seed, label, hash) {
    var a = el("a", "", label);
    a.href = "../seeds/" + seed[1] + ".html" + (hash || "");
    return a;
  }
  function findingRow(f) {
    var seed = typeof f[1] === "number" ? seeds[f[1]] : null;
    var ev = f[2];
    var tr = el("tr");
    var code = el("code");
    add(code, seed && seed[4] ? seedLink(seed, f[0], "#r-" + slug(f[0])) : f[0]);
    var td = add(el("td"), code);
    if (ev && ev.w) {
      add(td, el("br"), el("span", "out waived", "waived"), " ", el("span", "small", ev.w[0] + " (until " + ev.w[1] + ")"));
    }
    tr.appendChild(td);
    td = add(tr, el("td", "evidence")).lastChild;
    if (ev && ev.e) {
      var s = data.findings.sentences[ev.e[0]];
      if (ev.e.length > 1) {
        var at = ev.e[1], end = ev.e[1] + ev.e[2];
        add(td, s.slice(0, at), el("span", "hl hl-num", s.slice(at, end)), s.slice(end));
      } else {
        add(td, s);
      }
    }
    ((ev && ev.x) || []).forEach(function (kv) {
      add(td, el("br"), el("span", "muted small", kv[0] + ":"), " ", el("span", "small", kv[1]));
    });
    if (!ev || ev.n) {
      add(td, el("span", "muted small", "(evidence kept for the first findings of each rule; see the seed page)"));
    }
    td = add(tr, el("td")).lastChild;
    if (f[1] !== null) {
      add(td, seed ? seed[0] : "", el("br"), el("span", "hash small muted", seed ? seed[1] : f[1]));
      td.lastChild.title = "seed sha256";
    } else if (ev && ev.p) {
      add(td, ev.p);
    }
    if (ev && ev.b) { add(td, el("br"), el("span", "mono small", "bytes [" + ev.b[0] + ", " + ev.b[1] + ")")); }
    return tr;
  }
  function seedRow(seed) {
    var tr = el("tr");
    add(tr, add(el("td"), seed[4] ? seedLink(seed, seed[0]) : seed[0]), el("td", "n", fmt(seed[2]) + " B"), el("td", "hash small", seed[1] || "\u2014"));
    var status = el("td");
    if (seed.length > 5) {
      add(status, el("span", "out fail", "rejected"), " ", el("code", "", seed[5]));
      if (seed[6]) { add(status, " ", el("span", "small", seed[6])); }
    } else {
      add(status, el("span", "out pass", "extracted"));
    }
    add(tr, status, el("td", "n", seed[3] ? fmt(seed[3]) : ""));
    return tr;
  }
  function pager(n) {
    var nav = el("nav", "pager");
    nav.setAttribute("aria-label", "pages");
    function link(k, text, rel) {
      var a = el("a", "", text);
      a.href = "#page-" + k;
      if (rel) { a.rel = rel; }
      return a;
    }
    add(nav, el("span", "muted", "Page"));
    if (n > 1) { add(nav, link(n - 1, "\u2190 previous", "prev")); }
    for (var k = 1; k <= nPages; k++) {
      if (k === n) {
        var cur = add(nav, el("span", "cur", k)).lastChild;
        cur.setAttribute("aria-current", "page");
      } else if (k <= 3 || k > nPages - 2 || Math.abs(k - n) <= 2) {
        add(nav, link(k, k));
      } else if (k === 4 || k === nPages - 2) {
        add(nav, el("span", "muted", "\u2026")).lastChild.setAttribute("aria-hidden", "true");
      }
    }
    if (n < nPages) { add(nav, link(n + 1, "next \u2192", "next")); }
    return nav;
  }
  function show() {
    var m = /^#page-(\d+)$/.exec(location.hash);
    var n = Math.min(nPages, Math.max(1, m ? parseInt(m[1], 10) : 1));
    var first = (n - 1) * perPage;
    var chunk = rows.slice(first, first + perPage);
    var body = kind === "findings"
      ? table([["Record"], ["Evidence"], ["Seed and byte span"]])
      : table([["Seed"], ["Size", "n"], ["sha256"], ["Status"], ["Findings", "n"]]);
    chunk.forEach(function (r) { body.appendChild(kind === "findings" ? findingRow(r) : seedRow(r)); });
    showing.className = "";
    showing.textContent = (kind === "findings" ? "Findings " : "Seeds ") + fmt(rows.length ? first + 1 : 0) + "\u2013" + fmt(first + chunk.length) + " of " + fmt(rows.length);
    box.replaceChildren(pager(n), body.parentNode, pager(n));
  }
  window.addEventListener("hashchange", function () { show(); view.scrollIntoView(); });
  show();
})();
