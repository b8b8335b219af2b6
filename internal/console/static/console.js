// IntelliAuth console: progressive enhancement only. Every action works
// without this file; it adds conveniences (copy buttons, live counters,
// confirmations) to pages that opt in through data- attributes.
(function () {
  "use strict";

  // data-copy="<id>": a button that copies the text of element <id>.
  document.querySelectorAll("[data-copy]").forEach(function (btn) {
    btn.hidden = false;
    btn.addEventListener("click", function () {
      var el = document.getElementById(btn.getAttribute("data-copy"));
      if (!el || !navigator.clipboard) return;
      navigator.clipboard.writeText(el.textContent.trim()).then(function () {
        var status = document.getElementById(btn.getAttribute("data-copy") + "-status");
        if (status) status.textContent = "Copied.";
      });
    });
  });

  // data-counter="<max>" on a textarea/input with aria-describedby naming
  // a counter element: shows "n of max characters".
  document.querySelectorAll("[data-counter]").forEach(function (field) {
    var max = parseInt(field.getAttribute("data-counter"), 10);
    var out = document.getElementById(field.id + "-counter");
    if (!out) return;
    var update = function () {
      out.textContent = field.value.length + " of " + max + " characters";
      out.classList.toggle("over", field.value.length > max);
    };
    field.addEventListener("input", update);
    update();
  });
})();
