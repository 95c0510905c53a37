// Copy buttons: <button class="copy-button" data-copy="ID" hidden> copies #ID's text.
// The buttons start hidden and appear only where the Clipboard API is available.
(function () {
  "use strict";

  if (!navigator.clipboard) {
    return;
  }
  document.querySelectorAll("button.copy-button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) {
      return;
    }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent).then(
        function () {
          button.textContent = "Copied";
        },
        function () {
          button.textContent = "Copy failed";
        }
      );
      window.setTimeout(function () {
        button.textContent = label;
      }, 2000);
    });
  });
})();
