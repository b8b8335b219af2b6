// IntelliAuth: passkeys and security keys (WebAuthn) on the tenant's pages.
//
// A page offers a ceremony with a container and a button:
//
//   <div class="webauthn" data-mode="register|second-factor|passwordless">
//     <input name="name">                       (register only: the passkey's name)
//     <button type="button" id="webauthn-start" data-begin="URL" data-finish="URL"
//             data-target="KEY" data-csrf="TOKEN" [data-step-up="1"]>…</button>
//     <p role="alert" hidden></p>
//   </div>
//
// A click POSTs {target, step_up} as JSON to data-begin with the CSRF token
// in the X-CSRF-Token header, and gets back {challenge_id, options} (or
// {next} when there is nothing left to do). The options are go-webauthn's
// {"publicKey": {…}} with binary members base64url: they are decoded to
// ArrayBuffers for navigator.credentials.create (register) or .get (the
// others). The authenticator's answer is encoded back to the JSON
// go-webauthn parses and POSTed to data-finish with the challenge ID (and
// the name); the answer's "next" is where the browser goes on, always on
// this origin. A container that holds <form data-finish-form> (with inputs
// challenge_id and credential) finishes by submitting that form instead,
// so the page's answer is a page. A refusal's {"error"} sentence is shown in the container's
// role=alert element.
//
// No inline script and no other origin: the pages' Content-Security-Policy
// is script-src 'self'; connect-src 'self'.
(function () {
  "use strict";

  function toBuffer(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: toBuffer(d.id) };
      if (d.transports) {
        out.transports = d.transports;
      }
      return out;
    });
  }

  // creationOptions: PublicKeyCredentialCreationOptions from its JSON.
  function creationOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: toBuffer(pk.user.id) });
    o.excludeCredentials = decodeDescriptors(pk.excludeCredentials);
    return o;
  }

  // requestOptions: PublicKeyCredentialRequestOptions from its JSON.
  function requestOptions(pk) {
    var o = Object.assign({}, pk);
    o.challenge = toBuffer(pk.challenge);
    o.allowCredentials = decodeDescriptors(pk.allowCredentials);
    return o;
  }

  // credentialJSON: the PublicKeyCredential as go-webauthn parses it
  // (PublicKeyCredential.toJSON's shape, written out for browsers without it).
  function credentialJSON(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return out;
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () {
        return {};
      }).then(function (data) {
        if (!resp.ok) {
          throw new Error(data.error || "The server refused the request. Reload the page and try again.");
        }
        return data;
      });
    });
  }

  // go follows a "next" URL of this origin only.
  function go(next) {
    var u = new URL(next, window.location.href);
    if (u.origin !== window.location.origin) {
      throw new Error("The server answered with an address of another site; reload the page and try again.");
    }
    window.location.assign(u.href);
  }

  // message is the sentence for a failure of the browser's WebAuthn API.
  function message(err) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The passkey prompt was closed or timed out. Try again, or use another way.";
      case "InvalidStateError":
        return "This passkey or security key is already registered to your account.";
      case "SecurityError":
        return "Passkeys cannot be used from this page's address.";
      case "NotSupportedError":
        return "This browser or security key cannot make a passkey this site accepts.";
      case "AbortError":
        return "The passkey prompt was cancelled. Try again.";
    }
    return (err && err.message) || "Something went wrong. Reload the page and try again.";
  }

  function start(button) {
    var box = button.closest(".webauthn") || button.parentNode;
    var alertEl = box.querySelector("[role=alert]");
    var mode = box.getAttribute("data-mode") || "second-factor";
    var csrf = button.getAttribute("data-csrf") || "";
    var payload = {};
    if (button.hasAttribute("data-target")) {
      payload.target = button.getAttribute("data-target");
    }
    if (button.getAttribute("data-step-up") === "1") {
      payload.step_up = "1";
    }
    var show = function (text) {
      if (alertEl) {
        alertEl.textContent = text;
        alertEl.hidden = false;
      }
    };
    if (alertEl) {
      alertEl.hidden = true;
      alertEl.textContent = "";
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show("This browser does not support passkeys or security keys; use another way.");
      return;
    }
    var nameInput = box.querySelector("input[name=name]");
    var finishForm = box.querySelector("form[data-finish-form]");
    if (mode === "register") {
      var name = nameInput ? nameInput.value.trim() : "";
      if (!name) {
        show("Give the passkey a name first, such as the device it is on.");
        if (nameInput) {
          nameInput.focus();
        }
        return;
      }
      payload.name = name;
    }
    button.disabled = true;
    post(button.getAttribute("data-begin"), csrf, payload).then(function (begun) {
      if (begun.next) {
        go(begun.next);
        return null;
      }
      var pk = begun.options && begun.options.publicKey;
      if (!pk) {
        throw new Error("The server's answer could not be read. Reload the page and try again.");
      }
      var ceremony = mode === "register" ?
        navigator.credentials.create({ publicKey: creationOptions(pk) }) :
        navigator.credentials.get({ publicKey: requestOptions(pk) });
      return ceremony.then(function (cred) {
        if (!cred) {
          throw new Error("No passkey was chosen. Try again, or use another way.");
        }
        if (finishForm) {
          // The page's own form finishes (its answer is a page: the
          // account page shows new recovery codes that way).
          finishForm.elements.challenge_id.value = begun.challenge_id;
          finishForm.elements.credential.value = JSON.stringify(credentialJSON(cred));
          finishForm.submit();
          return null;
        }
        var body = Object.assign({}, payload, { challenge_id: begun.challenge_id, credential: credentialJSON(cred) });
        return post(button.getAttribute("data-finish"), csrf, body);
      }).then(function (done) {
        if (done === null) {
          return;
        }
        if (!done.next) {
          throw new Error("The server's answer could not be read. Reload the page and try again.");
        }
        go(done.next);
      });
    }).catch(function (err) {
      button.disabled = false;
      show(message(err));
    });
  }

  function wire(box) {
    // A page may hide the offer until it knows the browser can take it.
    if (window.PublicKeyCredential && box.hasAttribute("data-reveal")) {
      box.hidden = false;
    }
    var button = box.querySelector("button[data-begin]");
    if (!button) {
      return;
    }
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      start(button);
    });
    // Enter in the name field starts the ceremony rather than sending the
    // finishing form empty.
    var form = box.querySelector("form[data-finish-form]");
    if (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!button.disabled) {
          start(button);
        }
      });
    }
  }

  function init() {
    var boxes = document.querySelectorAll(".webauthn");
    for (var i = 0; i < boxes.length; i++) {
      wire(boxes[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
