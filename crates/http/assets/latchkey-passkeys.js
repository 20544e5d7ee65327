// latchkey's passkey ceremonies for the hosted pages (the only script the
// passkey features need; served from the binary, no inline script).
//
// /login: a "Sign in with a passkey" button (shown when the browser has
// WebAuthn) and the browser's autofill of passkeys on the identifier field
// (conditional UI, autocomplete="username webauthn"). /mfa: "Use your
// passkey" as the second factor after a password. /register: "Sign up
// with a passkey" (a mailed code, then the passkey). /account: "Add a
// passkey" and "Remove" in the passkeys section. The JSON API does the work:
// /v1/auth/passkeys/login/* in cookie mode, /v1/account/passkeys* with the
// session's CSRF token.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    return;
  }

  function post(path, body, csrf) {
    var headers = { "content-type": "application/json" };
    if (csrf) headers["x-csrf-token"] = csrf;
    return fetch(path, {
      method: "POST", credentials: "same-origin", headers: headers,
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        return { ok: r.ok, status: r.status, body: j };
      });
    });
  }

  function show(el, text) {
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
  }

  // ---- /login
  var signin = document.getElementById("passkey-signin");
  if (signin) {
    var form = signin.closest("section") || document;
    var status = document.getElementById("passkey-status");
    var loginForm = document.querySelector("form[action='/login']");
    var field = function (name) {
      var el = loginForm && loginForm.querySelector("input[name='" + name + "']");
      return el ? el.value : "";
    };
    var abort = null;
    var finish = function (credential) {
      return post("/v1/auth/passkeys/login/finish",
        { credential: credential.toJSON(), mode: "cookie" }).then(function (r) {
        if (r.ok && r.body.mfa_required) {
          secondStep(r.body);
        } else if (r.ok) {
          window.location.assign(field("return_to") || "/account");
        } else {
          show(status, signin.dataset.failed);
        }
      });
    };
    var ceremony = function (mediation) {
      if (abort) abort.abort();
      abort = new AbortController();
      var signal = abort.signal;
      return post("/v1/auth/passkeys/login/start", { mode: "cookie" }).then(function (r) {
        if (!r.ok) throw new Error("start");
        var options = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(r.body.publicKey), signal: signal };
        if (mediation) options.mediation = mediation;
        return navigator.credentials.get(options);
      }).then(function (credential) {
        if (credential) return finish(credential);
      });
    };
    // the second step when the passkey did not verify the user and the
    // account has a second factor: the /mfa form, in this page
    var secondStep = function (challenge) {
      var f = document.createElement("form");
      f.method = "post";
      f.action = "/mfa";
      [["mfa_token", challenge.mfa_token], ["csrf", field("csrf")],
       ["return_to", field("return_to")], ["method", "totp"], ["remember", "1"]].forEach(function (kv) {
        var i = document.createElement("input");
        i.type = "hidden"; i.name = kv[0]; i.value = kv[1];
        f.appendChild(i);
      });
      var label = document.createElement("label");
      label.textContent = signin.dataset.code;
      label.htmlFor = "passkey-code";
      var code = document.createElement("input");
      code.id = "passkey-code"; code.name = "code"; code.required = true;
      code.autocomplete = "one-time-code"; code.inputMode = "numeric";
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = signin.dataset.continue;
      f.append(label, code, button);
      form.appendChild(f);
      code.focus();
    };
    signin.hidden = false;
    signin.addEventListener("click", function () {
      ceremony(null).catch(function () { show(status, signin.dataset.failed); });
    });
    if (PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (yes) {
        if (yes) ceremony("conditional").catch(function () {});
      });
    }
  }

  // ---- /mfa: a passkey as the second factor. The options come from the
  // JSON API (the mfa_token's challenge, this browser's binding cookie);
  // the answer goes back through the page's own form, which redirects as
  // the code forms do.
  var second = document.getElementById("passkey-mfa");
  if (second) {
    var mfaForm = document.getElementById("passkey-form");
    var mfaStatus = document.getElementById("passkey-mfa-status");
    second.hidden = false;
    second.addEventListener("click", function () {
      var token = mfaForm.querySelector("input[name='mfa_token']").value;
      post("/v1/auth/login/mfa/webauthn/options", { mfa_token: token, mode: "cookie" }).then(function (r) {
        if (!r.ok) throw new Error("options");
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(r.body.publicKey) });
      }).then(function (credential) {
        if (!credential) return;
        mfaForm.querySelector("input[name='credential']").value = JSON.stringify(credential.toJSON());
        mfaForm.submit();
      }).catch(function () { show(mfaStatus, second.dataset.failed); });
    });
  }

  // ---- /register: sign up with a passkey, no password. A code mailed to
  // the address proves it; used with intent "signup" it gives a ticket for
  // the passkey's ceremony (kept for a retry if the ceremony is cancelled).
  var signup = document.getElementById("passkey-signup");
  if (signup && PublicKeyCredential.parseCreationOptionsFromJSON) {
    var byId = function (id) { return document.getElementById(id); };
    var suStatus = byId("passkey-signup-status");
    var suEmail = byId("passkey-signup-email");
    var suCode = byId("passkey-signup-code");
    var ticket = null;
    signup.hidden = false;
    byId("passkey-signup-send").addEventListener("click", function () {
      ticket = null;
      post("/v1/auth/email-otp", { email: suEmail.value }).then(function (r) {
        show(suStatus, r.ok ? signup.dataset.sent : signup.dataset.failed);
        if (r.ok) suCode.focus();
      });
    });
    byId("passkey-signup-create").addEventListener("click", function () {
      (ticket ? Promise.resolve(null) : post("/v1/auth/email-otp/verify",
        { email: suEmail.value, code: suCode.value, intent: "signup" })).then(function (r) {
        if (r && !r.ok) throw new Error(r.body.code === "account_exists" ? "exists" : "code");
        if (r) ticket = r.body.signup_ticket;
        return post("/v1/auth/passkeys/signup/start", { signup_ticket: ticket });
      }).then(function (r) {
        if (!r.ok) throw new Error("start");
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(r.body.publicKey) });
      }).then(function (credential) {
        if (!credential) throw new Error("cancelled");
        return post("/v1/auth/passkeys/signup/finish",
          { signup_ticket: ticket, credential: credential.toJSON(), mode: "cookie" });
      }).then(function (r) {
        if (!r.ok) throw new Error("finish");
        window.location.assign("/account");
      }).catch(function (e) {
        show(suStatus, e.message === "exists" ? signup.dataset.exists : signup.dataset.failed);
      });
    });
  }

  // ---- /account
  var add = document.getElementById("passkey-add");
  if (add) {
    var csrf = add.dataset.csrf;
    var note = document.getElementById("passkey-note");
    add.hidden = false;
    add.addEventListener("click", function () {
      post("/v1/account/passkeys/register/start", {}, csrf).then(function (r) {
        if (!r.ok) {
          show(note, r.body.code === "reauth_required" || r.body.code === "mfa_required"
            ? add.dataset.reauth : add.dataset.failed);
          return null;
        }
        var options = PublicKeyCredential.parseCreationOptionsFromJSON(r.body.publicKey);
        return navigator.credentials.create({ publicKey: options });
      }).then(function (credential) {
        if (!credential) return null;
        var name = document.getElementById("passkey-name");
        return post("/v1/account/passkeys/register/finish",
          { credential: credential.toJSON(), name: (name && name.value) || undefined }, csrf);
      }).then(function (r) {
        if (!r) return;
        if (r.ok) window.location.reload();
        else show(note, r.body.code === "passkey_registered" ? add.dataset.known : add.dataset.failed);
      }).catch(function () { show(note, add.dataset.failed); });
    });
    document.querySelectorAll("button[data-passkey-remove]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        fetch("/v1/account/passkeys/" + encodeURIComponent(b.dataset.passkeyRemove), {
          method: "DELETE", credentials: "same-origin", headers: { "x-csrf-token": csrf },
        }).then(function (r) {
          if (r.ok) window.location.reload();
          else show(note, r.status === 403 ? add.dataset.reauth : add.dataset.failed);
        });
      });
    });
  }
})();
