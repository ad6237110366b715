// A one-time sign-in link signs its person in as soon as the page opens;
// link previewers, which run no script, leave it unused.
"use strict";
(function () {
  var form = document.getElementById("link-signin");
  if (form) { form.submit(); }
})();
