// While a title is typed into the submit form, show the challenge's ideas most like it, so
// a duplicate is found before it is submitted. Without this script the form works as ever.
"use strict";

(function () {
  const title = document.getElementById("idea-title");
  const shown = document.getElementById("similar-ideas");
  if (!title || !shown || !window.fetch) return;
  let timer = null;
  let asked = 0;

  async function ask() {
    const text = title.value.trim();
    const mine = ++asked;
    if (text.length < 3) {
      shown.replaceChildren();
      return;
    }
    const url = new URL(shown.dataset.similar, window.location.href);
    url.searchParams.set("title", text);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      // The fragment is rendered (and escaped) by the server; an older answer is dropped.
      if (response.ok && mine === asked) shown.innerHTML = await response.text();
    } catch (error) {
      // Only a hint: the form works without it.
    }
  }

  title.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
})();
