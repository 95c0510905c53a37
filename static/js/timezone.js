// Tells the server the browser's time zone (cookie tocsin_tz, read by
// accounts.middleware.ViewerTimezoneMiddleware) so pages show times in the viewer's zone.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names are cookie-safe as they are; the server reads the value without decoding it.
  if (!zone || !/^[A-Za-z0-9_+\-\/]+$/.test(zone)) {
    return;
  }
  var pattern = /(?:^|;\s*)tocsin_tz=([^;]*)/;
  var match = document.cookie.match(pattern);
  if (match && match[1] === zone) {
    return;
  }
  document.cookie =
    "tocsin_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
  match = document.cookie.match(pattern);
  var stored = match && match[1] === zone;
  var root = document.documentElement;
  // Reload once so this page, too, shows the new zone. Only when the cookie stuck (otherwise
  // every load would reload), the page shows another zone, and reloading repeats no POST.
  if (stored && root.dataset.tz !== zone && !root.hasAttribute("data-no-reload")) {
    window.location.reload();
  }
})();
