// Scopes pages: a scope name is checked as it is typed, against the
// registry's rule (which lies within RFC 6749 §3.3 scope-token) and the
// tenant's own naming pattern, with the very sentences the server gives
// (model.ValidScopeName). The server checks again on submit: this only
// tells sooner. Acts on <input data-scope-name> whose error element is
// <id>-error (a live region).
(function () {
  "use strict";

  // model.scopeNamePattern: 1–64 characters, a letter first, then
  // letters, digits and _ : . - /
  var registry = /^[A-Za-z][A-Za-z0-9_:.\/-]{0,63}$/;

  document.querySelectorAll("input[data-scope-name]").forEach(function (input) {
    var out = document.getElementById(input.id + "-error");
    if (!out) return;
    var pattern = input.getAttribute("data-pattern") || "";
    var tenant = null;
    if (pattern) {
      // Go's regexp (RE2) and JavaScript agree on the patterns tenants
      // use; one that JavaScript cannot read is left to the server.
      try { tenant = new RegExp("^(?:" + pattern + ")$"); } catch (e) { tenant = null; }
    }
    // What the server said about the value it was sent (a name already
    // taken, say) stays until the value changes.
    var sent = input.value, said = out.textContent;

    var problem = function (v) {
      if (!registry.test(v)) {
        return "scope name " + JSON.stringify(v) + " must be 1–64 characters, start with a letter, then letters, digits or _ : . - /";
      }
      if (tenant && !tenant.test(v)) {
        return "scope name " + JSON.stringify(v) + " does not match this tenant's naming pattern " + pattern;
      }
      return "";
    };
    var check = function () {
      var v = input.value;
      var msg = v === "" ? "" : problem(v);
      if (!msg && v === sent) msg = said;
      if (out.textContent !== msg) out.textContent = msg;
      if (msg) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    };
    input.addEventListener("input", check);
  });
})();
