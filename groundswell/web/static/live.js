// Live pages: when the server says new events were stored, fetch this page again at that
// position and swap in every section marked data-live that changed. A section the reader
// is typing in is left alone until they are done.
"use strict";

(function () {
  const body = document.body;
  const stream = body.dataset.liveStream;
  if (!stream || !window.EventSource) return;
  let shown = Number(body.dataset.position || 0);
  let wanted = shown;
  let busy = false;
  const status = document.getElementById("live-status");

  function editing(section) {
    if (section.contains(document.activeElement) && document.activeElement !== document.body) {
      return true;
    }
    return Array.from(section.querySelectorAll("input, textarea, select")).some(
      (field) => field.type !== "hidden" && "defaultValue" in field && field.value !== field.defaultValue
    );
  }

  async function refresh() {
    if (busy || wanted <= shown) return;
    busy = true;
    const target = wanted;
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("at_least", String(target));
      const answer = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (answer.status === 503) {
        setTimeout(refresh, 1000); // the read models are catching up
        return;
      }
      if (!answer.ok) return;
      const fresh = new DOMParser().parseFromString(await answer.text(), "text/html");
      let changed = 0;
      for (const section of document.querySelectorAll("[data-live]")) {
        const next = fresh.getElementById(section.id);
        if (next && next.innerHTML !== section.innerHTML && !editing(section)) {
          section.replaceWith(document.importNode(next, true));
          changed += 1;
        }
      }
      shown = target;
      body.dataset.position = String(target);
      if (changed && status) {
        status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
      }
    } finally {
      busy = false;
      if (wanted > shown) refresh();
    }
  }

  const source = new EventSource(stream + "?since=" + shown);
  source.addEventListener("position", (event) => {
    wanted = Math.max(wanted, Number(event.data));
    refresh();
  });
})();
