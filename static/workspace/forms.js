/* Small progressive enhancements for the sign-in and workspace pages:
 * a language <select> inside form[data-autosubmit] submits on change. */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") form.submit();
  });
})();
