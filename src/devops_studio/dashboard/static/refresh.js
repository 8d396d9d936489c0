// Refreshes the page's <main> every data-refresh seconds without reloading the page.
// Plain JavaScript loaded from the same origin (the CSP allows no inline script and no other host);
// a failed fetch leaves the page as it is and tries again at the next interval.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (!(seconds > 0) || !window.fetch || !window.DOMParser) {
    return;
  }
  function refresh() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var main = document.getElementById("main");
        var next = fresh.getElementById("main");
        var meta = document.querySelector("header .meta");
        var nextMeta = fresh.querySelector("header .meta");
        if (main && next) {
          main.replaceChildren.apply(main, Array.prototype.slice.call(next.childNodes));
          document.body.setAttribute("data-refreshed", new Date().toISOString());
        }
        if (meta && nextMeta) {
          meta.replaceChildren.apply(meta, Array.prototype.slice.call(nextMeta.childNodes));
        }
      })
      .catch(function () { /* keep the last page; the next interval tries again */ })
      .then(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  window.setTimeout(refresh, seconds * 1000);
})();
