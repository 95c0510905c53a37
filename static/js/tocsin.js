// Small page behaviours that need no framework. Loaded with defer, after htmx.
(function () {
  "use strict";

  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) {
      return;
    }
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(toast.timer);
    toast.timer = window.setTimeout(function () {
      box.hidden = true;
    }, 8000);
  }

  // Answers that carry no fragment to swap (404, 500, …) or no answer at all.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    toast(
      status === 404
        ? "That is gone, or no longer visible to you. Reload the page."
        : "Something went wrong (" + status + "). Reload the page and try again."
    );
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("Tocsin cannot be reached. Check your connection and try again.");
  });

  // Close an open disclosure menu (user menu, action forms) with Escape or a click elsewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details[open].user-menu, details[open].action").forEach(function (d) {
      var hadFocus = d.contains(document.activeElement);
      d.open = false;
      if (hadFocus) {
        d.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[open].user-menu, details[open].action").forEach(function (d) {
      if (!d.contains(event.target)) {
        d.open = false;
      }
    });
  });
})();
