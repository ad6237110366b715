// The review page: rate with the keyboard, save drafts as the inspector
// types (through the HTTP API, ReviewService/SubmitReview with final
// false), confirm before finalising. Without this script the form still
// works: its buttons post a draft or the final review to the console.
"use strict";
(function () {
  var form = document.getElementById("review-form");
  if (!form || !window.qa) { return; }
  var item = form.dataset.item;
  var dims = Array.prototype.slice.call(form.querySelectorAll("fieldset.dim"));
  var statusLine = document.getElementById("save-status");
  var current = 0;
  var timer = null;
  var saving = false;
  var dirty = false;
  var AUTOSAVE_MS = 700;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", !!isError);
    statusLine.classList.toggle("muted", !isError);
  }

  // setCurrent marks dimension i as the one the keys act on; with focus
  // it also moves the keyboard focus there.
  function setCurrent(i, focus) {
    if (i < 0 || i >= dims.length) { return; }
    dims[current].classList.remove("current");
    current = i;
    dims[i].classList.add("current");
    if (focus) {
      var target = dims[i].querySelector("input.rate:checked") || dims[i].querySelector("input.rate");
      if (target) { target.focus({ preventScroll: true }); }
      dims[i].scrollIntoView({ block: "nearest" });
    }
  }

  function typing(el) {
    if (!el) { return false; }
    return el.tagName === "TEXTAREA" || el.tagName === "SELECT" || (el.tagName === "INPUT" && (el.type === "text" || el.type === "search"));
  }

  function rate(value) {
    var dim = dims[current];
    var input = dim.querySelector('input.rate[value="' + value + '"]');
    if (!input) {
      if (value === "na") { say(dim.querySelector("legend").textContent.trim() + ": " + form.dataset.naRefused, true); }
      return;
    }
    input.checked = true;
    input.focus({ preventScroll: true });
    changed();
  }

  form.addEventListener("focusin", function (e) {
    var fs = e.target.closest("fieldset.dim");
    if (fs) { setCurrent(dims.indexOf(fs), false); }
  });
  form.addEventListener("click", function (e) {
    var fs = e.target.closest("fieldset.dim");
    if (fs) { setCurrent(dims.indexOf(fs), false); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) { return; }
    if (e.target.closest && e.target.closest("details.skip-release")) { return; }
    var k = e.key;
    if (/^[0-9]$/.test(k)) {
      rate(k);
      e.preventDefault();
    } else if (k === "n" || k === "N") {
      rate("na");
      e.preventDefault();
    } else if (k === "j" || k === "ArrowDown") {
      setCurrent(current + 1, true);
      e.preventDefault();
    } else if (k === "k" || k === "ArrowUp") {
      setCurrent(current - 1, true);
      e.preventDefault();
    }
  });

  function lines(name) {
    return form.elements[name].value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  // review is the form as a SubmitReviewRequest (protojson): unrated
  // dimensions are left out of a draft.
  function review() {
    var body = { itemId: item, ratings: [], flags: [], comment: form.elements.comment.value,
      strengths: lines("strengths"), suggestions: lines("suggestions"), final: false };
    dims.forEach(function (fs) {
      var checked = fs.querySelector("input.rate:checked");
      if (!checked) { return; }
      var r = { key: fs.dataset.key, comment: fs.querySelector("textarea").value };
      if (checked.value === "na") { r.na = true; } else { r.value = parseInt(checked.value, 10); }
      body.ratings.push(r);
    });
    Array.prototype.forEach.call(form.querySelectorAll('input[name="flag"]:checked'), function (f) {
      body.flags.push(f.value);
    });
    return body;
  }

  // showErrors puts the API's field messages beside their fields.
  function showErrors(err) {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (p) { p.textContent = ""; });
    dims.forEach(function (fs) { fs.classList.remove("invalid"); });
    var sent = review().ratings;
    (err && err.details || []).forEach(function (d) {
      (d.fieldViolations || []).forEach(function (v) {
        var m = /^ratings\[([^\]]+)\](\.comment)?$/.exec(v.field);
        var key = m ? m[1] : v.field;
        if (m && /^\d+$/.test(key) && sent[+key]) { key = sent[+key].key; }
        var p = document.getElementById("err-" + key.replace(/\[.*$/, ""));
        if (p) { p.textContent = v.description; }
        var fs = document.getElementById("dim-" + key);
        if (fs) { fs.classList.add("invalid"); }
      });
    });
  }

  // clock shows a time of day as the pages do: 24-hour, in the
  // programme's zone, not the browser's locale and zone ("11:54:39 PM").
  function clock(at) {
    var opts = { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false };
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: form.dataset.zone }, opts)).format(at);
    } catch (e) { // an unknown zone name: the browser's own
      return new Intl.DateTimeFormat("en-GB", opts).format(at);
    }
  }

  function save() {
    timer = null;
    if (saving) { dirty = true; return; }
    saving = true;
    dirty = false;
    say(form.dataset.saving, false);
    window.qa.api("ReviewService/SubmitReview", review()).then(function (resp) {
      showErrors(null);
      var at = resp.review && resp.review.updatedAt ? new Date(resp.review.updatedAt) : new Date();
      // A draft keeps a dimension's comment only with its rating: say so
      // rather than let an unrated dimension's comment look saved.
      var unsaved = dims.some(function (fs) {
        return !fs.querySelector("input.rate:checked") && fs.querySelector("textarea").value.trim() !== "";
      });
      say(form.dataset.saved + " " + clock(at) + (unsaved ? " · " + form.dataset.commentNeedsRating : ""), false);
      form.dataset.savedAt = String(Date.now());
    }, function (err) {
      showErrors(err);
      say(form.dataset.saveFailed + " " + window.qa.fieldMessage(err), true);
    }).then(function () {
      saving = false;
      if (dirty) { schedule(); }
    });
  }

  function schedule() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, AUTOSAVE_MS);
  }

  function changed() { schedule(); }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  form.addEventListener("submit", function (e) {
    var final = e.submitter && e.submitter.value === "final";
    if (!final) {
      // The draft button: save now through the API, stay on the page.
      e.preventDefault();
      if (timer) { clearTimeout(timer); }
      save();
      return;
    }
    if (!window.confirm(form.dataset.confirmFinal)) {
      e.preventDefault();
      return;
    }
    if (timer) { clearTimeout(timer); timer = null; }
  });

  // Leaving the page (or hiding it) saves what is pending.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && timer) {
      clearTimeout(timer);
      save();
    }
  });

  setCurrent(0, false);
  form.dataset.ready = "1";
  document.documentElement.dataset.reviewReady = String(Math.round(performance.now()));
})();
