// Live pages: the pollers (data-live-poller) of the incident page and the incident list ask
// every few seconds whether anything changed, sending the version they show as If-None-Match;
// the server answers 304 with no body while nothing did. No framework, no build step.
(function () {
  "use strict";

  // A part being edited (data-live-keep-while-editing: an open disclosure, a field with focus)
  // is not swapped, and the poller keeps its old version so the next poll brings it again.
  var keptOne = false;

  function isPoll(event) {
    return event.detail.elt && event.detail.elt.hasAttribute("data-live-poller");
  }

  function beingEdited(part) {
    if (part.querySelector("details[open]")) {
      return true;
    }
    var focused = document.activeElement;
    return Boolean(
      focused && part.contains(focused) && focused.matches("textarea, select, input:not([type=hidden])")
    );
  }

  // A hidden tab asks nothing: hx-trigger's [condition] filters need eval, which the CSP
  // refuses, so the request is cancelled here. Coming back to the tab asks at once.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isPoll(event) && document.visibilityState !== "visible") {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (isPoll(event)) {
      keptOne = false;
    }
  });

  // Focus inside a part the poll replaces (the incident's state after an action, a button)
  // goes back to the element of the same id in the new part, else to the incident's state:
  // never to the page body.
  var refocus = null;

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (target.hasAttribute("data-live-keep-while-editing") && beingEdited(target)) {
      event.detail.shouldSwap = false;
      keptOne = true;
    } else if (target.hasAttribute("data-live-poller") && keptOne) {
      event.detail.shouldSwap = false;
    } else if (target.contains(document.activeElement) && document.activeElement !== target) {
      refocus = document.activeElement.id || "";
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    if (refocus === null || document.activeElement !== document.body) {
      return;
    }
    var again = (refocus && document.getElementById(refocus)) || document.querySelector("[data-focus-state]");
    refocus = null;
    if (again) {
      again.focus();
    }
  });

  // The incident or list is gone, or no longer visible to this person: stop asking.
  document.addEventListener("htmx:responseError", function (event) {
    if (isPoll(event) && event.detail.xhr && [403, 404].indexOf(event.detail.xhr.status) >= 0) {
      event.detail.elt.remove();
    }
  });
})();
