// Collections and the trash: "move to the trash" asks first, then offers an Undo that calls
// restore (POST /api/v1/trash/restore). Strings come translated from the page (data-*).
// Other pages (the grid's bulk bar) can call window.assetloomTrash(ids, options).
"use strict";
(() => {
  if (window.assetloomTrash) return; // included twice on one page
  const token = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function call(method, url, body) {
    const headers = { "X-CSRF-Token": token(), Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    const res = await fetch(url, {
      method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin",
    });
    const doc = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(doc.message || `${res.status} ${res.statusText}`);
    return doc;
  }

  function toast(text, action) {
    document.querySelector(".toast")?.remove();
    const box = document.createElement("div");
    box.className = "toast";
    box.setAttribute("role", "status");
    const label = document.createElement("span");
    label.textContent = text;
    box.append(label);
    if (action) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "undo";
      button.textContent = action.label;
      button.addEventListener("click", async () => {
        button.disabled = true;
        try { await action.run(); } catch (e) { label.textContent = e.message; }
      });
      box.append(button);
    }
    document.body.append(box);
    return { box, label };
  }

  // Move ids to the trash after a confirmation; the toast's Undo restores them. Resolves to
  // the API's answer, or null when the person said no.
  async function moveToTrash(ids, o = {}) {
    if (!window.confirm(o.confirm || `Move ${ids.length} to the trash?`)) return null;
    let doc;
    try {
      doc = ids.length === 1
        ? await call("DELETE", `/api/v1/assets/${encodeURIComponent(ids[0])}`)
        : await call("POST", "/api/v1/trash", { ids });
    } catch (e) { toast(e.message); return null; }
    o.onTrashed?.(doc);
    const shown = toast(`${o.done || "Moved to the trash"} (${doc.removed.length})`, {
      label: o.undo || "Undo",
      run: async () => {
        await call("POST", doc.restore.path, { ids: doc.restore.ids });
        shown.label.textContent = o.restored || "Restored";
        shown.box.querySelector("button")?.remove();
        o.onRestored?.(doc);
      },
    });
    return doc;
  }
  window.assetloomTrash = moveToTrash;

  document.addEventListener("click", (e) => {
    const button = e.target.closest("[data-trash]");
    if (!button) return;
    e.preventDefault();
    const d = button.dataset;
    const gone = d.gone ? document.querySelector(d.gone) : null;
    moveToTrash(d.trash.split(","), {
      confirm: d.confirm, done: d.done, undo: d.undo, restored: d.restored,
      onTrashed: () => { if (gone) gone.hidden = true; else button.disabled = true; },
      onRestored: () => { if (gone) gone.hidden = false; else button.disabled = false; },
    });
  });

  document.addEventListener("submit", (e) => {
    const form = e.target.closest("form[data-confirm-submit]");
    if (form && !window.confirm(form.dataset.confirmSubmit)) e.preventDefault();
  });
})();
