// "Test this widget" (admin_center/widget_test.py): the token function the embedded widget calls. It asks
// the server, as the signed-in administrator, for a test token signed with the server's test key; no key
// is ever in this page.
(function () {
  const script = document.currentScript;
  const url = script.dataset.tokenUrl;
  const name = script.dataset.tokenFunction;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  window[name] = function () {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() },
    })
      .then((response) => (response.ok ? response.json() : { token: null }))
      .then((data) => data.token || null);
  };
})();
