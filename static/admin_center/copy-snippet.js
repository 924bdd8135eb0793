// The widget page's "Copy" button: copies the embed snippet from its read-only text box.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-copy-target]")) {
    button.addEventListener("click", async () => {
      const box = document.getElementById(button.dataset.copyTarget);
      box.select();
      try {
        await navigator.clipboard.writeText(box.value);
      } catch {
        document.execCommand("copy");
      }
      button.textContent = button.dataset.copiedLabel;
    });
  }
});
