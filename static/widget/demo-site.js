/* The demo shop's own script: the token function its chat authentication setting names.
 * A real website does the same: its server signs a JWT for the signed-in customer. */
(function () {
  "use strict";
  function install() {
    var name = document.body.dataset.authFunction;
    var url = document.body.dataset.tokenUrl;
    if (!name || !url) return;
    window[name] = function () {
      return fetch(url, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (data) { return data.token; });
    };
  }
  if (document.body) install();
  else document.addEventListener("DOMContentLoaded", install);
})();
