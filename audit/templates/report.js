(function () {
  "use strict";
  var selected = [];
  var panel = document.querySelector(".panel");
  function clean(id) { return String(id).replace(/[^A-Za-z0-9_-]/g, "_"); }
  function select(id) {
    id = clean(id);
    selected.forEach(function (el) { el.classList.remove("sel"); el.removeAttribute("aria-current"); });
    selected = Array.prototype.slice.call(document.querySelectorAll('a.m[data-r="' + id + '"]'));
    var card = document.getElementById("r-" + id);
    if (card) { selected.push(card); }
    selected.forEach(function (el) { el.classList.add("sel"); el.setAttribute("aria-current", "true"); });
    return card;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest ? ev.target.closest("a[data-r]") : null;
    if (!a) { return; }
    var card = select(a.getAttribute("data-r"));
    var toCard = (a.getAttribute("href") || "").indexOf("#r-") === 0;
    // with the side panel beside the text, scroll only the panel so the reader keeps their place
    if (toCard && card && panel && getComputedStyle(panel).position === "sticky") {
      ev.preventDefault();
      panel.scrollTop += card.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
      card.focus({ preventScroll: true });
      history.replaceState(null, "", "#r-" + clean(a.getAttribute("data-r")));
    }
  });
  var filters = document.getElementById("filters");
  if (filters) {
    filters.hidden = false;
    filters.addEventListener("change", function (ev) {
      var t = ev.target;
      if (t && t.name) { document.body.classList.toggle("hide-" + clean(t.name), !t.checked); }
    });
  }
  if (location.hash.indexOf("#r-") === 0) { select(location.hash.slice(3)); }
})();
