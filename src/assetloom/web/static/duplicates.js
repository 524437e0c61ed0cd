// Duplicate review: a "Not duplicates" action on each group the page shows (app.js renders
// them). It remembers that the group's assets are not copies of each other
// (POST /api/v1/duplicates/dismiss), so the next run leaves them apart; "Undo" forgets it.
"use strict";
(() => {
  const say = (text, values = {}) => (typeof t === "function" ? t(text, values) : text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m)));
  function decorate(box) {
    if (box.dataset.dismissable) return;
    box.dataset.dismissable = "1";
    const ids = [...box.querySelectorAll("[data-member]")].map((m) => m.dataset.member);
    if (ids.length < 2) return;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "dismiss";
    button.textContent = say("Not duplicates");
    button.title = say("Remember that these are different pictures: later runs keep them apart");
    const note = document.createElement("span");
    note.className = "status";
    button.addEventListener("click", async () => {
      const undo = box.classList.contains("dismissed");
      button.disabled = true;
      try {
        const doc = await api("POST", `/api/v1/duplicates/${undo ? "restore" : "dismiss"}`, { asset_ids: ids });
        box.classList.toggle("dismissed", !undo);
        button.textContent = undo ? say("Not duplicates") : say("Undo");
        note.textContent = " " + (undo ? say("Kept as duplicates again.") : say("Remembered: {n} pairs are not duplicates.", { n: doc.pairs }));
      } catch (e) {
        note.textContent = " " + e.message;
      } finally {
        button.disabled = false;
      }
    });
    const row = document.createElement("div");
    row.className = "dismiss-row";
    row.append(button, note);
    box.append(row);
  }
  document.addEventListener("DOMContentLoaded", () => {
    const groups = document.getElementById("groups");
    if (!groups || groups.dataset.canEdit !== "true") return;
    new MutationObserver(() => groups.querySelectorAll("section.group").forEach(decorate))
      .observe(groups, { childList: true });
  });
})();
