// The bureau page's own script (loaded before textual.js).
// - When the session ends, the terminal is removed from the page, so nothing it showed stays behind
//   the "Session ended" notice, and the notice says why (the server's reason, e.g. that it is full).
// - "Start again" reloads the page without its query string.
// - The terminal takes the keyboard as soon as it is on the page, and again whenever the window
//   comes back to the front: a caller types the user name at once, without clicking first.
"use strict";

(function () {
  const NativeWebSocket = window.WebSocket;

  function sessionEnded(reason) {
    const terminal = document.getElementById("terminal");
    if (terminal) {
      terminal.replaceChildren();
    }
    const message = document.getElementById("ended-message");
    if (message) {
      message.textContent = reason || "Session ended.";
    }
    document.body.classList.add("-closed");
  }

  class PageSocket extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener("close", (event) => sessionEnded(event.reason));
    }
  }
  window.WebSocket = PageSocket;

  function focusTerminal() {
    const input = document.querySelector("#terminal .xterm-helper-textarea");
    if (input && document.activeElement !== input) {
      input.focus();
    }
    return Boolean(input);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("restart").addEventListener("click", () => {
      window.location.href = window.location.pathname;
    });
    const terminal = document.getElementById("terminal");
    if (terminal && !focusTerminal()) {
      const watcher = new MutationObserver(() => {
        if (focusTerminal()) {
          watcher.disconnect();
        }
      });
      watcher.observe(terminal, { childList: true, subtree: true });
    }
    window.addEventListener("focus", focusTerminal);
  });
})();
