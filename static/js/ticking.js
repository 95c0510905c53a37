// Relative times that move on: <time data-tick="since|age" datetime="ISO"> is rewritten every
// minute, in the words of incidents_ui's `since` and `age` filters. Parts that live.js or htmx
// swap in are found at the next tick, as every tick looks the elements up afresh. An age over
// a day is left as the server wrote it (a day name, which does not change by the minute).
// The server's clock decides: the script tag's data-now is when the page was drawn, so a wrong clock
// on the viewer's machine does not show "Open for 3 h" on an incident declared a minute ago.
(function () {
  "use strict";

  var DAY = 86400;
  var script = document.currentScript;
  var drawn = Date.parse((script && script.getAttribute("data-now")) || "");
  var skew = isNaN(drawn) ? 0 : drawn - Date.now();

  function duration(seconds) {
    seconds = Math.max(Math.floor(seconds), 0);
    if (seconds < 60) {
      return seconds + " s";
    }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min";
    }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 48) {
      return minutes ? hours + " h " + minutes + " min" : hours + " h";
    }
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  function text(kind, seconds) {
    if (kind === "since") {
      return duration(seconds);
    }
    if (seconds >= DAY) {
      return null;
    }
    return seconds < 60 ? "just now" : duration(seconds) + " ago";
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("time[data-tick][datetime]").forEach(function (element) {
      var start = Date.parse(element.getAttribute("datetime"));
      if (isNaN(start)) {
        return;
      }
      var words = text(element.getAttribute("data-tick"), (now - start) / 1000);
      if (words !== null && element.textContent !== words) {
        element.textContent = words;
      }
    });
  }

  window.setInterval(tick, 60000);
  // A page brought back from the back/forward cache shows the times it was left with.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      tick();
    }
  });
})();
