// The feedback inbox's live list: one WatchFeedback stream per page (over
// the HTTP API, as server-sent events read through fetch so that the
// session cookie and the CSRF header go with it), resumed after the newest
// record received; new records go to the top of the unacknowledged list
// and are announced to screen readers. No polling: a quiet inbox costs the
// server one idle stream.
"use strict";
(function () {
  var cfgEl = document.getElementById("inbox-live");
  var list = document.getElementById("unacked-list");
  var tmpl = document.getElementById("record-template");
  if (!cfgEl || !list || !tmpl || !window.fetch || !window.TextDecoder) { return; }
  var cfg = JSON.parse(cfgEl.textContent);
  var cursor = cfg.cursor || "0"; // int64 as a decimal string, as protojson sends ids
  var stateEl = document.getElementById("inbox-state");
  var announceEl = document.getElementById("inbox-announce");
  var emptyEl = document.getElementById("unacked-empty");

  var when;
  try {
    when = new Intl.DateTimeFormat("sv-SE", { timeZone: cfg.zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  } catch (e) {
    when = new Intl.DateTimeFormat("sv-SE", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  }

  function setState(s) {
    if (!stateEl) { return; }
    stateEl.dataset.state = s;
    stateEl.textContent = cfg.states[s] || s;
  }

  // later compares two decimal id strings without losing int64 precision.
  function later(a, b) {
    return a.length !== b.length ? a.length > b.length : a > b;
  }

  function fill(fmt, args) {
    var i = 0;
    return fmt.replace(/%s/g, function () { return args[i++]; });
  }

  function show(rec) {
    var id = String(rec.id || "");
    if (!/^[0-9]+$/.test(id)) { return; }
    if (later(id, cursor)) { cursor = id; }
    // Delivery is at least once: a record already shown stays as it is;
    // one acknowledged meanwhile (in another tab) is not news.
    if (rec.acknowledgedAt || document.querySelector('.records [data-id="' + id + '"]')) { return; }
    var li = tmpl.content.firstElementChild.cloneNode(true);
    li.dataset.id = id;
    li.querySelector("a").href = "/feedback/" + id;
    var slot = function (n) { return li.querySelector('[data-slot="' + n + '"]'); };
    var who = rec.agentName || rec.agentId || "";
    slot("agent").textContent = who;
    slot("agent-id").textContent = rec.agentName ? rec.agentId : "";
    slot("score").textContent = rec.scoreText || "0.00";
    var grade = slot("grade");
    grade.textContent = cfg.grades[rec.grade] || rec.grade || "";
    if (cfg.classes[rec.grade]) { grade.classList.add(cfg.classes[rec.grade]); }
    slot("coaching").hidden = !rec.coachingRequired;
    slot("example").hidden = !rec.shareAsExample;
    slot("rescore").hidden = !rec.supersedesId;
    if (rec.coachingRequired) { li.classList.add("coaching"); }
    slot("week").textContent = rec.week || "";
    if (rec.createdAt) {
      var t = slot("created");
      t.dateTime = rec.createdAt;
      t.textContent = when.format(new Date(rec.createdAt)).replace("T", " ");
    }
    list.insertBefore(li, list.firstChild);
    if (emptyEl) { emptyEl.hidden = true; }
    announce(fill(cfg.announce, [who, rec.scoreText || "", grade.textContent]));
  }

  // announce tells screen readers of new records: one by what it is,
  // several arriving together (a backlog after a reconnect) by their
  // number, so that no announcement cuts off another. A tab in the
  // background counts them in its title.
  var pending = [], announceTimer = null, unseen = 0, baseTitle = document.title;
  function announce(text) {
    pending.push(text);
    if (document.hidden) {
      unseen++;
      document.title = "(" + unseen + ") " + baseTitle;
    }
    if (announceTimer) { return; }
    announceTimer = setTimeout(function () {
      announceEl.textContent = pending.length === 1 ? pending[0] : fill(cfg.announceMany, [String(pending.length)]);
      pending = [];
      announceTimer = null;
    }, 500);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && unseen) {
      unseen = 0;
      document.title = baseTitle;
    }
  });

  // handle reads one server-sent event; it returns false when the stream
  // reported an error.
  function handle(block) {
    var type = "message", data = [];
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event:") === 0) { type = line.slice(6).trim(); }
      else if (line.indexOf("data:") === 0) { data.push(line.slice(5).replace(/^ /, "")); }
    });
    if (!data.length) { return true; } // a keep-alive comment
    var msg;
    try { msg = JSON.parse(data.join("\n")); } catch (e) { return true; }
    if (type === "error") {
      if (msg.code === "UNAUTHENTICATED" || msg.code === "PERMISSION_DENIED") { stopped = true; }
      return false;
    }
    if (msg.record) { show(msg.record); }
    return true;
  }

  var attempt = 0, stopped = false, ctrl = null, timer = null;

  function connect() {
    timer = null;
    setState(attempt ? "retrying" : "connecting");
    ctrl = new AbortController();
    var openedAt = 0;
    fetch("/qa.v1.FeedbackService/WatchFeedback", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "Accept": "text/event-stream", "X-QA-CSRF": window.qa.csrf() },
      body: JSON.stringify({ afterId: cursor }),
      signal: ctrl.signal,
    }).then(function (resp) {
      if (resp.status === 401 || resp.status === 403) { stopped = true; return; }
      if (!resp.ok || !resp.body) { throw new Error("HTTP " + resp.status); }
      openedAt = Date.now();
      setState("live");
      var reader = resp.body.getReader(), dec = new TextDecoder(), buf = "";
      var pump = function () {
        return reader.read().then(function (r) {
          if (r.done) { return; }
          buf += dec.decode(r.value, { stream: true }).replace(/\r\n?/g, "\n");
          var i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            var ok = handle(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (!ok) { ctrl.abort(); return; }
          }
          return pump();
        });
      };
      return pump();
    }).catch(function () { /* reconnect below */ }).then(function () {
      if (stopped) { setState("stopped"); return; }
      // A stream that stayed up a while starts the backoff over.
      if (openedAt && Date.now() - openedAt > 30000) { attempt = 0; }
      attempt++;
      var delay = Math.min(30000, 1000 * Math.pow(2, attempt - 1)) * (0.5 + Math.random() / 2);
      setState("retrying");
      timer = setTimeout(connect, delay);
    });
  }

  // Leaving the page ends the stream at once rather than when the
  // connection times out.
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (timer) { clearTimeout(timer); }
    if (ctrl) { ctrl.abort(); }
  });
  // Back to the page from the browser's cache: stream again from where the
  // list stands.
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) { stopped = false; attempt = 0; connect(); }
  });
  connect();
})();
