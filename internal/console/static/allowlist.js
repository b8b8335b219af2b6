// IntelliAuth console: the Allowed scopes editor of an application's Access
// tab, in the page. Without this file every button posts the form and the
// server stages the change; with it, Allow selected, Remove selected, Add
// scope (for a registered name) and dragging the selection across move the
// options here, and keep the same hidden fields (add, remove) and the
// pending-changes summary up to date, so Save posts exactly what the server
// would have staged. Anything it cannot decide (an unknown name) goes to the server,
// which says why.
(function () {
  "use strict";

  var form = document.getElementById("allowlist-editor");
  if (!form) return;
  var avail = document.getElementById("allowlist-available");
  var allowed = document.getElementById("allowlist-allowed");
  var filter = document.getElementById("allowlist-filter");
  var nameBox = document.getElementById("app-name");
  var summary = document.getElementById("allowlist-summary");
  var status = document.getElementById("allowlist-status");
  var fields = document.getElementById("allowlist-pending-fields");
  var allowBtn = document.getElementById("allowlist-allow");
  var removeBtn = document.getElementById("allowlist-remove");
  var addBtn = document.getElementById("allowlist-add");
  if (!avail || !allowed || !summary || !fields) return;

  var base = {};
  form.querySelectorAll('input[type="hidden"][name="base"]').forEach(function (i) {
    base[i.value] = true;
  });

  // The server filters without a script; here the filter is live.
  form.querySelectorAll("[data-allowlist-nojs]").forEach(function (el) {
    el.hidden = true;
  });

  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll("option"));
  }

  function groupOf(opt) {
    return opt.parentNode && opt.parentNode.tagName === "OPTGROUP" ? opt.parentNode.label : "";
  }

  // target's optgroup with label (each list has the same groups).
  function groupIn(list, label) {
    var gs = list.querySelectorAll("optgroup");
    for (var i = 0; i < gs.length; i++) {
      if (gs[i].label === label) return gs[i];
    }
    var g = document.createElement("optgroup");
    g.label = label || "Other";
    list.appendChild(g);
    return g;
  }

  function matches(opt, text) {
    if (!text) return true;
    var t = text.toLowerCase();
    return opt.value.toLowerCase().indexOf(t) >= 0 || (opt.getAttribute("data-display") || "").toLowerCase().indexOf(t) >= 0;
  }

  // refresh hides what the filter excludes (Available only), hides empty
  // groups, marks pending options, and rewrites the hidden fields and the
  // summary from what the Allowed list holds now.
  function refresh() {
    var text = filter ? filter.value.trim() : "";
    options(avail).forEach(function (o) {
      o.hidden = !matches(o, text);
      if (o.hidden) o.selected = false;
      o.classList.toggle("pending", !!base[o.value]);
    });
    options(allowed).forEach(function (o) {
      o.hidden = false;
      o.classList.toggle("pending", !base[o.value]);
    });
    [avail, allowed].forEach(function (list) {
      list.querySelectorAll("optgroup").forEach(function (g) {
        var shown = Array.prototype.some.call(g.children, function (o) { return !o.hidden; });
        g.hidden = !shown;
      });
    });
    var now = {};
    options(allowed).forEach(function (o) { now[o.value] = true; });
    var add = Object.keys(now).filter(function (n) { return !base[n]; }).sort();
    var remove = Object.keys(base).filter(function (n) { return !now[n]; }).sort();
    while (fields.firstChild) fields.removeChild(fields.firstChild);
    var parts = [];
    add.forEach(function (n) { fields.appendChild(hidden("add", n)); parts.push("+ " + n); });
    remove.forEach(function (n) { fields.appendChild(hidden("remove", n)); parts.push("\u2212 " + n); });
    var text2 = parts.length ? parts.join(", ") : "No pending changes.";
    if (summary.textContent !== text2) summary.textContent = text2;
  }

  function hidden(name, value) {
    var i = document.createElement("input");
    i.type = "hidden";
    i.name = name;
    i.value = value;
    return i;
  }

  // insert puts opt into its group of list, in name order.
  function insert(list, opt, label) {
    var g = groupIn(list, label);
    var after = null;
    Array.prototype.forEach.call(g.children, function (o) {
      if (after === null && o.value > opt.value) after = o;
    });
    g.insertBefore(opt, after);
  }

  // move takes the selected (visible) options of from into to; they stay
  // selected there, so the other button undoes the move.
  function move(from, to, opts) {
    if (status) status.textContent = "";
    var moving = opts || options(from).filter(function (o) { return o.selected && !o.hidden; });
    if (!moving.length) return 0;
    options(to).forEach(function (o) { o.selected = false; });
    moving.forEach(function (o) {
      var label = groupOf(o);
      o.selected = true;
      insert(to, o, label);
    });
    refresh();
    return moving.length;
  }

  allowBtn.addEventListener("click", function (e) {
    e.preventDefault();
    move(avail, allowed);
  });
  removeBtn.addEventListener("click", function (e) {
    e.preventDefault();
    move(allowed, avail);
  });

  // Enter in a list moves its selection across; double-click moves one.
  avail.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); move(avail, allowed); }
  });
  allowed.addEventListener("keydown", function (e) {
    if (e.key === "Enter") { e.preventDefault(); move(allowed, avail); }
  });
  avail.addEventListener("dblclick", function () { move(avail, allowed); });
  allowed.addEventListener("dblclick", function () { move(allowed, avail); });

  // Add scope: a registered name not yet allowed moves across here; any
  // other name goes to the server, which answers with the reason.
  if (addBtn && nameBox) {
    addBtn.addEventListener("click", function (e) {
      var n = nameBox.value.trim();
      if (!n) { e.preventDefault(); nameBox.focus(); return; }
      var found = options(avail).filter(function (o) { return o.value === n; });
      if (found.length) {
        e.preventDefault();
        move(avail, allowed, found);
        nameBox.value = "";
        nameBox.removeAttribute("aria-invalid");
        nameBox.focus();
        return;
      }
      var already = options(allowed).some(function (o) { return o.value === n; });
      if (already) {
        e.preventDefault();
        nameBox.value = "";
        if (status) status.textContent = n + " is already allowed.";
        nameBox.focus();
      }
    });
  }

  if (filter) {
    filter.addEventListener("input", refresh);
    filter.addEventListener("keydown", function (e) {
      if (e.key === "Enter") e.preventDefault();
    });
  }

  // Drag and drop: press on a selected option and drag the selection onto
  // the other list. A listbox takes the mouse for its own range selection
  // and starts no HTML drag, so this follows the mouse itself: a press on
  // an option that is already selected (no modifier key) is kept from the
  // list, and a release over the other list moves the selection there; a
  // release without a drag selects that option alone, as a click would.
  var drag = null;
  [[avail, allowed], [allowed, avail]].forEach(function (pair) {
    var from = pair[0], to = pair[1];
    from.addEventListener("mousedown", function (e) {
      var opt = e.target;
      if (e.button !== 0 || !opt || opt.tagName !== "OPTION" || !opt.selected || e.shiftKey || e.ctrlKey || e.metaKey) return;
      e.preventDefault();
      from.focus();
      drag = { from: from, to: to, opt: opt, x: e.clientX, y: e.clientY, moved: false };
    });
  });
  function over(el, target) {
    return target === el || el.contains(target);
  }
  document.addEventListener("mousemove", function (e) {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 6) drag.moved = true;
    drag.to.classList.toggle("allowlist-drop", drag.moved && over(drag.to, e.target));
    document.documentElement.classList.toggle("allowlist-dragging", drag.moved);
  });
  document.addEventListener("mouseup", function (e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.to.classList.remove("allowlist-drop");
    document.documentElement.classList.remove("allowlist-dragging");
    if (d.moved && over(d.to, e.target)) {
      move(d.from, d.to);
      d.to.focus();
    } else if (!d.moved) {
      options(d.from).forEach(function (o) { o.selected = o === d.opt; });
    }
  });

  refresh();
})();
