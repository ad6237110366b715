// Behaviour every page shares. Page scripts use window.qa.
"use strict";
(function () {
  function csrf() {
    var m = document.querySelector('meta[name="qa-csrf"]');
    return m ? m.content : "";
  }

  // api calls an RPC over the HTTP API with the session cookie and the
  // CSRF proof; it resolves to the JSON answer or rejects with the API's
  // error body ({code, message, details}).
  function api(method, body) {
    return fetch("/qa.v1." + method, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-QA-CSRF": csrf() },
      body: JSON.stringify(body || {}),
    }).then(function (r) {
      return r.text().then(function (t) {
        var data = {};
        try { data = t ? JSON.parse(t) : {}; } catch (e) { data = { message: t }; }
        if (!r.ok) { data.status = r.status; throw data; }
        return data;
      });
    });
  }

  // fieldMessage returns the API's message for one field, or its message.
  function fieldMessage(err) {
    var out = [];
    (err.details || []).forEach(function (d) {
      (d.fieldViolations || []).forEach(function (v) { out.push(v.field + ": " + v.description); });
    });
    return out.length ? out.join("; ") : (err.message || String(err));
  }

  window.qa = { api: api, csrf: csrf, fieldMessage: fieldMessage };

  // Forms marked data-confirm ask before they submit.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
      e.preventDefault();
    }
  });
})();
