// A secret shown once (<section data-shown-once>): leaving the page loses it for good, so the
// browser asks first, until the secret's Copy button has been used.
(function () {
  "use strict";

  var shown = document.querySelector("[data-shown-once]");
  if (!shown) {
    return;
  }
  function warn(event) {
    event.preventDefault();
    // Older browsers show the prompt only when returnValue is set.
    event.returnValue = "";
  }
  window.addEventListener("beforeunload", warn);
  shown.querySelectorAll(".copy-button").forEach(function (button) {
    button.addEventListener("click", function () {
      window.removeEventListener("beforeunload", warn);
    });
  });
})();
