// Keyboard and focus, as PagerDuty and incident.io users expect: single-key shortcuts (listed
// in the "?" dialog, templates/partials/keys_help.html), Ctrl/Cmd+Enter sends the text being
// typed, and focus lands somewhere meaningful after an in-page action or a failed form.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("announce");
    if (region) {
      // Emptied first, so the same words twice in a row are read twice.
      region.textContent = "";
      window.setTimeout(function () {
        region.textContent = text;
      }, 50);
    }
  }

  function focusOn(element) {
    if (!element) {
      return false;
    }
    if (!element.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
    return true;
  }

  // A failed form: its first invalid field (Django marks it aria-invalid and points
  // aria-describedby at the error), else its message.
  function focusProblem(container) {
    var field = container.querySelector('[aria-invalid="true"]');
    if (field) {
      var disclosure = field.closest("details");
      if (disclosure) {
        disclosure.open = true;
      }
      return focusOn(field);
    }
    return focusOn(container.querySelector('[role="alert"]:not(#toast), [role="alertdialog"]'));
  }

  // A page that comes back with errors (a plain form post, such as declaring) opens on them.
  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main && main.querySelector('[aria-invalid="true"]')) {
      focusProblem(main);
    }
  });

  // After an in-page action swaps a part of the page (the incident panel), focus goes where
  // the form says (data-focus-after) or to the part's state (data-focus-state, the incident's
  // tags: reference, severity, status), not to the page body; the state is announced too.
  // Pollers are live.js's business: they never move focus.
  var action = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    // detail.elt is the swap's target here; the form or button that asked is the request's.
    // A poll answered between an action's swap and its settle must not forget the action: under
    // load it did, and focus was left on the page body after Resolve.
    var config = event.detail.requestConfig;
    var elt = config && config.elt;
    if (!elt || config.verb !== "post" || elt.hasAttribute("data-live-poller")) {
      return;
    }
    action = null;
    if (!event.detail.shouldSwap) {
      return;
    }
    var form = elt.closest("form") || elt;
    action = {
      xhr: event.detail.xhr,
      ok: event.detail.xhr.status < 300,
      part: event.detail.target && event.detail.target.id,
      was: document.activeElement && document.activeElement.id,
      after: form.getAttribute("data-focus-after"),
      said: form.getAttribute("data-announce"),
    };
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    // Only the settle of the action's own answer, not a poll's that landed meanwhile.
    if (!action || event.detail.xhr !== action.xhr) {
      return;
    }
    var done = action;
    action = null;
    // Something the new part asked to focus (autofocus: the question before a public update).
    var focused = document.activeElement;
    if (focused && focused !== document.body && focused.closest("[autofocus]")) {
      return;
    }
    var part = (done.part && document.getElementById(done.part)) || document.getElementById("main");
    if (!done.ok && focusProblem(part || document.body)) {
      return;
    }
    // The incident's state (tags: reference, severity, status), when the part that came back
    // holds it: announced after every action, focused when nothing better is there.
    var state = part && part.querySelector("[data-focus-state]");
    var stateText = state ? state.textContent.replace(/\s+/g, " ").trim() : "";
    var said = [done.said, stateText].filter(Boolean).join(". ");
    if (said) {
      announce(said);
    }
    if (done.after && focusOn(document.querySelector(done.after))) {
      return;
    }
    // What had focus, if it is still there to use (a checklist box); not a button that went
    // with the action (Acknowledge) or hides in a closed disclosure (Change severity).
    var was = done.was && document.getElementById(done.was);
    if (was && visible(was)) {
      was.focus();
      return;
    }
    focusOn(state);
  });

  function typing(target) {
    return Boolean(
      target &&
        target.closest &&
        (target.closest("input, textarea, select, [contenteditable]") || target.isContentEditable)
    );
  }

  function visible(element) {
    return element && element.getClientRects().length > 0;
  }

  // The help dialog: a modal <dialog>, which Escape closes; focus goes back where it was.
  function openHelp() {
    var dialog = document.getElementById("keys-help");
    if (!dialog || dialog.open) {
      return;
    }
    var opener = document.activeElement;
    dialog.addEventListener(
      "close",
      function () {
        if (opener && opener.isConnected && opener !== document.body) {
          opener.focus();
        }
      },
      { once: true }
    );
    dialog.showModal();
  }

  var shortcuts = {
    // Acknowledge: only where the person may (the button is there).
    a: function () {
      var button = document.getElementById("action-acknowledge");
      if (!visible(button)) {
        return false;
      }
      button.click();
      return true;
    },
    // Resolve opens the resolve form; resolving takes its note and a submit.
    r: function () {
      var summary = document.getElementById("action-resolve");
      if (!visible(summary)) {
        return false;
      }
      var disclosure = summary.closest("details");
      disclosure.open = true;
      var field = disclosure.querySelector("textarea, input:not([type=hidden]), select");
      focusOn(field || summary);
      return true;
    },
    "/": function () {
      var search = document.querySelector('form[role="search"] input[type="search"], form[role="search"] input[type="text"]');
      if (!visible(search)) {
        return false;
      }
      search.focus();
      search.select();
      return true;
    },
    "?": function () {
      openHelp();
      return Boolean(document.getElementById("keys-help"));
    },
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    // Ctrl+Enter (Cmd+Enter on a Mac) sends the text being typed: the note, the update.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
      var target = event.target;
      if (target && target.matches && target.matches("textarea") && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typing(event.target)) {
      return;
    }
    // Nothing behind an open dialog (the help, a confirmation) reacts.
    if (document.querySelector("dialog[open]")) {
      return;
    }
    var shortcut = Object.prototype.hasOwnProperty.call(shortcuts, event.key) && shortcuts[event.key];
    if (shortcut && shortcut()) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-keys-help]");
    if (opener) {
      event.preventDefault();
      // Out of the way of the dialog (the user menu), focus coming back to its summary.
      var menu = opener.closest("details");
      if (menu) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
      openHelp();
    }
  });
})();
