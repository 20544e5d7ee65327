// latchkey proof-of-work solver. Served by latchkey at /assets/latchkey-pow.js.
//
// The protocol (see GET /v1/auth/challenge in /openapi.json): find a decimal
// counter n such that SHA-256("<token>:<n>") starts with `difficulty` zero
// bits, then send "<token>:<n>" in the Latchkey-Pow header (or the `pow`
// field of the request body).
//
// Use from a page:
//   const solution = await latchkeyPow.solve(challenge.token, challenge.difficulty);
// or mark a form: <form data-latchkey-pow="login"> with <input type="hidden" name="pow">,
// and the form fetches and solves a puzzle before it is submitted.
// Works in browsers and in Node.js (module.exports).
(function (root) {
  "use strict";

  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);
  var W = new Uint32Array(64);

  // SHA-256 of an ASCII string; returns the first 32-bit word and the
  // second (enough to count up to 64 leading zero bits).
  function sha256Head(text) {
    var n = text.length;
    var blocks = ((n + 9 + 63) >> 6);
    var bytes = new Uint8Array(blocks * 64);
    for (var i = 0; i < n; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    bytes[n] = 0x80;
    var bits = n * 8;
    bytes[bytes.length - 4] = (bits >>> 24) & 0xff;
    bytes[bytes.length - 3] = (bits >>> 16) & 0xff;
    bytes[bytes.length - 2] = (bits >>> 8) & 0xff;
    bytes[bytes.length - 1] = bits & 0xff;
    var h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
    var h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    for (var b = 0; b < blocks; b++) {
      var o = b * 64;
      for (var t = 0; t < 16; t++) {
        W[t] = (bytes[o + 4 * t] << 24) | (bytes[o + 4 * t + 1] << 16) | (bytes[o + 4 * t + 2] << 8) | bytes[o + 4 * t + 3];
      }
      for (t = 16; t < 64; t++) {
        var x = W[t - 15], y = W[t - 2];
        var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
      }
      var a = h0, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7, bb = h1;
      for (t = 0; t < 64; t++) {
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var ch = (e & f) ^ (~e & g);
        var t1 = (h + S1 + ch + K[t] + W[t]) | 0;
        var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        var maj = (a & bb) ^ (a & c) ^ (bb & c);
        var t2 = (S0 + maj) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    return [h0 >>> 0, h1 >>> 0];
  }

  function leadingZeroBits(head) {
    if (head[0] !== 0) return Math.clz32(head[0]);
    return 32 + Math.clz32(head[1]);
  }

  // Finds the solution; yields to the event loop now and then so a page
  // stays responsive. Resolves to "<token>:<n>".
  function solve(token, difficulty) {
    if (!/^[A-Za-z0-9._-]+$/.test(token)) return Promise.reject(new Error("malformed challenge token"));
    return new Promise(function (resolve) {
      var n = 0;
      function run() {
        for (var i = 0; i < 20000; i++, n++) {
          var candidate = token + ":" + n;
          if (leadingZeroBits(sha256Head(candidate)) >= difficulty) return resolve(candidate);
        }
        setTimeout(run, 0);
      }
      run();
    });
  }

  // Forms marked data-latchkey-pow="login|register" get a solved puzzle in
  // their hidden "pow" input before they are submitted, when the server
  // asks for one (`required`); otherwise, and when no puzzle can be had,
  // they are sent as they are and the server decides.
  function wireForms(doc) {
    var forms = doc.querySelectorAll("form[data-latchkey-pow]");
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        var input = form.querySelector("input[name=pow]");
        if (!input || input.value) return;
        event.preventDefault();
        var action = form.getAttribute("data-latchkey-pow");
        fetch("/v1/auth/challenge?action=" + encodeURIComponent(action), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (c) { return c.required ? solve(c.token, c.difficulty) : ""; })
          .then(function (solution) { input.value = solution; form.submit(); },
                function () { form.submit(); });
      });
    });
  }

  var api = { solve: solve, sha256Head: sha256Head, leadingZeroBits: leadingZeroBits, wireForms: wireForms };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.latchkeyPow = api;
  if (typeof document !== "undefined") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { wireForms(document); });
    else wireForms(document);
  }
})(typeof self !== "undefined" ? self : this);
