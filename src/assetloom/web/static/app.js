// AssetLoom web UI: small enhancements over server-rendered pages. Every write goes to the
// JSON API with the session's CSRF token; the API gives the same answers as the CLI.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const $ = (sel, root = document) => root.querySelector(sel);

// The page's language: the server puts the locale's catalog on <body data-i18n> (English
// needs none); t("English text", {n: 3}) fills {n} as the templates' _() does.
let catalog = null;
function t(text, values = {}) {
  if (catalog === null) {
    try { catalog = JSON.parse(document.body?.dataset.i18n || "{}"); } catch (_) { catalog = {}; }
  }
  const out = catalog[text] || text;
  return out.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

async function api(method, url, body) {
  const headers = { "X-CSRF-Token": csrf(), Accept: "application/json" };
  let payload = body;
  if (body && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { method, headers, body: payload, credentials: "same-origin" });
  const doc = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(doc.message || `${res.status} ${res.statusText}`);
  return doc;
}

// XHR rather than fetch: only XHR reports upload progress.
function upload(url, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let doc = {};
      try { doc = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(doc);
      else reject(new Error(doc.message || `${xhr.status} ${xhr.statusText}`));
    };
    xhr.onerror = () => reject(new Error(t("network error")));
    xhr.send(formData);
  });
}

function dropZone(zone, input, onFiles) {
  if (!zone) return;
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => { e.preventDefault(); if (e.dataTransfer.files.length) onFiles([...e.dataTransfer.files]); });
  input.addEventListener("change", () => { if (input.files.length) onFiles([...input.files]); input.value = ""; });
  zone.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } });
}

// A catalog time as the pages' localdate filter shows it: to the minute, in UTC.
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function localDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || "";
  const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`;
  return document.documentElement.lang === "zh-CN"
    ? `${d.getUTCFullYear()}年${d.getUTCMonth() + 1}月${d.getUTCDate()}日 ${hm}`
    : `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${hm}`;
}

// m:ss.s, as the CLI prints times.
function clock(seconds) {
  const m = Math.floor(seconds / 60), s = (seconds - 60 * m).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function tile(hit, extra) {
  const thumb = hit.media_type !== "text"
    ? el("img", { loading: "lazy", src: `/api/v1/assets/${hit.asset_id}/thumbnail`, alt: hit.original_name, "data-kind": hit.media_type || "image" })
    : el("span", { class: "doc", text: hit.media_type });
  // A hit that matched a moment (a passage said, a key frame, a copied excerpt) or a page links there.
  const where = [...(hit.matched || []), hit.segment].find((m) => m && (m.start !== undefined || m.page !== undefined));
  const at = where ? (where.start !== undefined ? `?t=${where.start}` : `?page=${where.page}`) : "";
  const badge = where ? el("span", { class: "moment", title: where.text || "", text: where.start !== undefined ? `▶ ${clock(where.start)}` : `p. ${where.page}` }) : "";
  return el("a", { class: "tile", href: `/assets/${hit.asset_id}${at}`, "data-asset": hit.asset_id },
    thumb, el("span", { class: "name", text: hit.original_name }), badge, extra);
}

// Thumbnails that do not exist (text documents, failed renders) become a plain label.
document.addEventListener("error", (e) => {
  const img = e.target;
  if (img.tagName === "IMG" && img.closest(".tile") && !img.dataset.failed) {
    img.dataset.failed = "1";
    const kind = img.dataset.kind;
    img.replaceWith(el("span", { class: "doc", text: kind && kind !== "image" ? t(kind) : t("no preview") }));
  }
}, true);

// ------------------------------------------------------------------ ledger proof (RFC 9162)
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (s) => new Uint8Array(s.match(/../g).map((h) => parseInt(h, 16)));
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const sha256 = async (...parts) => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
};

// Recompute the tree root from the leaf and its inclusion path; check the signed checkpoint
// names that root. The server checked too; this is the browser checking for itself.
async function verifyProof(p) {
  const leafHash = await sha256(new Uint8Array([0]), new TextEncoder().encode(p.leaf));
  if (hex(leafHash) !== p.leaf_hash) throw new Error("the leaf does not hash to the stated leaf hash");
  let fn = p.leaf_index, sn = p.tree_size - 1, r = leafHash;
  for (const h of p.inclusion_proof) {
    const node = unhex(h);
    if (sn === 0) throw new Error("the inclusion proof is too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(new Uint8Array([1]), node, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(new Uint8Array([1]), r, node);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("the inclusion proof is too short");
  const [text] = p.checkpoint.split("\n\n");
  const [, size, rootB64] = text.split("\n");
  if (Number(size) !== p.tree_size) throw new Error("the checkpoint is for another tree size");
  if (hex(b64(rootB64)) !== hex(r)) throw new Error("the path does not lead to the signed root");
  return { root: hex(r), signature: await verifySignature(p.checkpoint, p.public_key) };
}

// Ed25519 where the browser's WebCrypto has it; otherwise say that the server checked it.
async function verifySignature(note, publicKey) {
  // name+hexid+base64(type||key): names never hold '+', base64 may.
  const first = publicKey.indexOf("+"), second = publicKey.indexOf("+", first + 1);
  const name = publicKey.slice(0, first);
  const key = b64(publicKey.slice(second + 1));
  const cut = note.indexOf("\n\n");
  const text = new TextEncoder().encode(note.slice(0, cut + 1));
  const line = note.slice(cut + 2).split("\n").find((l) => l.startsWith(`— ${name} `));
  if (!line) throw new Error("the checkpoint is not signed by the ledger key");
  const sig = b64(line.split(" ").pop()).slice(4);
  try {
    const k = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, k, sig, text))) throw new Error("the checkpoint signature does not verify");
    return "signature checked in your browser";
  } catch (e) {
    if (e.message.includes("does not verify")) throw e;
    return "signature checked by the server";
  }
}

function proofBox(box, proof) {
  if (!proof || proof.verified === false) {
    box.className = "proof bad";
    box.textContent = t("Proof not available: {error}", { error: proof?.error || t("unknown") });
    return;
  }
  verifyProof(proof).then((v) => {
    // The time to trust is the one inside the verified leaf, not the catalog's copy of it.
    const signedAt = JSON.parse(proof.leaf).registered_at;
    box.className = "proof ok";
    box.replaceChildren(
      el("strong", { text: t("✓ proof verified") }),
      t(" — registered {when} per registration leaf {leaf} of {size} in the ledger; {signature}.", { when: signedAt, leaf: proof.leaf_index, size: proof.tree_size, signature: t(v.signature) }),
      el("small", { text: t("root {root}", { root: v.root }) }),
    );
  }).catch((e) => { box.className = "proof bad"; box.textContent = t("✗ proof failed: {error}", { error: e.message }); });
}

// ------------------------------------------------------------------ pages
function libraryPage() {
  document.querySelectorAll("[data-autosubmit]")
    .forEach((s) => s.addEventListener("change", (e) => e.target.form.submit()));
  if ($("#map")) return worldMap($("#map"));
  const grid = $("#grid");
  if (!grid) return;
  const selection = selectionBar(grid);
  lightbox(grid);
  if (!("IntersectionObserver" in window)) return;
  let busy = false;
  const observer = new IntersectionObserver(async (entries) => {
    const sentinel = entries.find((e) => e.isIntersecting)?.target;
    if (!sentinel || busy) return;
    busy = true;
    observer.unobserve(sentinel);
    const res = await fetch(sentinel.dataset.next, { credentials: "same-origin" });
    const tpl = document.createElement("template");
    tpl.innerHTML = await res.text();
    sentinel.replaceWith(tpl.content);
    selection.mark();
    const next = $(".sentinel", grid);
    if (next) observer.observe(next);
    busy = false;
  }, { rootMargin: "600px" });
  const first = $(".sentinel", grid);
  if (first) observer.observe(first);
}

// ------------------------------------------------------------------ selection and bulk actions
// "Select" turns clicks on tiles into picks (shift-click picks the range from the last one);
// the check mark of a tile picks it at any time. The bar acts on the picked ids, which may be
// every result of the filters ("select all"), not only the tiles loaded so far.
function selectionBar(grid) {
  const bar = $("#bulk"), toggle = $("#select-mode"), message = $("#bulk-message");
  const picked = new Set();
  let last = null;
  const tiles = () => [...grid.querySelectorAll(".tile")];
  const mark = () => {
    for (const tl of tiles()) tl.classList.toggle("selected", picked.has(tl.dataset.asset));
    bar.hidden = picked.size === 0;
    $("#bulk-count").textContent = t("{n} selected", { n: picked.size });
  };
  const selecting = (on) => {
    document.body.classList.toggle("selecting", on);
    toggle?.setAttribute("aria-pressed", String(on));
  };
  toggle?.addEventListener("click", () => selecting(!document.body.classList.contains("selecting")));
  grid.addEventListener("click", (e) => {
    const tl = e.target.closest(".tile");
    if (!tl || e.target.closest(".zoom")) return;
    if (!document.body.classList.contains("selecting") && !e.target.closest(".pick")) return;
    e.preventDefault();
    selecting(true);
    const all = tiles(), at = all.indexOf(tl);
    if (e.shiftKey && last !== null && all[last]) {
      const [from, to] = [Math.min(last, at), Math.max(last, at)];
      for (const x of all.slice(from, to + 1)) picked.add(x.dataset.asset);
    } else if (picked.has(tl.dataset.asset)) {
      picked.delete(tl.dataset.asset);
    } else {
      picked.add(tl.dataset.asset);
    }
    last = at;
    mark();
  });
  const ids = () => [...picked];
  const say = (text) => { message.textContent = text; };
  const run = async (label, work) => {
    bar.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    say(t("{action}…", { action: label }));
    try { await work(); } catch (e) { say(t("Failed: {error}", { error: e.message })); } finally {
      bar.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
  };
  const value = (sel, what) => {
    const v = $(sel)?.value.trim();
    if (!v) { say(t("Type a {what} first.", { what: t(what) })); $(sel)?.focus(); }
    return v;
  };
  const actions = {
    all: () => run(t("Selecting"), async () => {
      const doc = await api("GET", grid.dataset.select);
      doc.ids.forEach((i) => picked.add(i));
      mark();
      say(doc.truncated ? t("The first {n} results are selected.", { n: doc.ids.length }) : "");
    }),
    none: () => { picked.clear(); last = null; mark(); say(""); },
    zip: () => run(t("Making the zip"), async () => {
      const res = await fetch("/api/v1/assets/zip", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/json", Accept: "application/zip" },
        body: JSON.stringify({ ids: ids() }),
      });
      if (!res.ok) { const doc = await res.json().catch(() => ({})); throw new Error(doc.message || res.statusText); }
      const blob = await res.blob();
      const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "")?.[1] || "assets.zip";
      const link = el("a", { href: URL.createObjectURL(blob), download: name });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
      say(t("Downloaded {name}.", { name }));
    }),
    tag: () => { const tag = value("#bulk-tag", "tag"); if (tag) run(t("Tagging"), async () => {
      const doc = await api("POST", "/api/v1/assets/tags", { ids: ids(), add: [tag] });
      say(t("Tagged {n} assets “{tag}”.", { n: doc.updated, tag }));
    }); },
    untag: () => { const tag = value("#bulk-tag", "tag"); if (tag) run(t("Untagging"), async () => {
      const doc = await api("POST", "/api/v1/assets/tags", { ids: ids(), remove: [tag] });
      say(t("Removed “{tag}” from {n} assets.", { n: doc.updated, tag }));
    }); },
    status: () => run(t("Setting the status"), async () => {
      const status = $("#bulk-status").value;
      const doc = await api("POST", "/api/v1/assets/meta", { ids: ids(), set: { status } });
      say(t("{n} assets are now “{status}”.", { n: doc.updated, status: $("#bulk-status").selectedOptions[0].text }));
    }),
    collect: () => { const name = value("#bulk-collection", "collection name"); if (name) run(t("Adding"), async () => {
      const url = `/api/v1/collections/${encodeURIComponent(name)}`;
      try { await api("POST", `${url}/items`, { ids: ids() }); } catch (e) {
        if (!/no collection/i.test(e.message)) throw e;
        await api("POST", "/api/v1/collections", { name });  // a new name makes the collection
        await api("POST", `${url}/items`, { ids: ids() });
      }
      say(t("Added {n} assets to “{name}”.", { n: picked.size, name }));
    }); },
    trash: () => {
      const moving = ids();
      if (!confirm(t("Move {n} assets to the trash? They are hidden everywhere until restored.", { n: moving.length }))) return;
      run(t("Moving to the trash"), async () => {
        await api("POST", "/api/v1/trash", { ids: moving });
        for (const tl of tiles()) if (picked.has(tl.dataset.asset)) tl.remove();
        picked.clear();
        mark();
        bar.hidden = false;
        const undo = el("button", { type: "button", text: t("Undo") });
        undo.addEventListener("click", () => run(t("Restoring"), async () => {
          await api("POST", "/api/v1/trash/restore", { ids: moving });
          location.reload();
        }));
        message.replaceChildren(t("Moved {n} assets to the trash.", { n: moving.length }), " ", undo);
      });
    },
  };
  bar.addEventListener("click", (e) => {
    const b = e.target.closest("[data-bulk]");
    if (b) actions[b.dataset.bulk]?.();
  });
  if (bar.dataset.canEdit === "true") {
    api("GET", "/api/v1/collections").then((doc) => {
      $("#bulk-collections").replaceChildren(...(doc.collections || []).map((c) => el("option", { value: c.name })));
    }).catch(() => {});
  }
  mark();
  return { mark };
}

// ------------------------------------------------------------------ lightbox
// A larger look at the tiles of a grid without leaving it: ⤢ on a tile (or space on a
// focused one) opens it; ← → step through the grid's tiles, Esc closes, the link opens the page.
function lightbox(grid) {
  const box = $("#lightbox");
  if (!box || !grid) return;
  let items = [], at = 0, opener = null;
  const media = $("#lb-media");
  const show = () => {
    const tl = items[at], id = tl.dataset.asset, kind = tl.dataset.kind, name = tl.dataset.name;
    const original = `/api/v1/assets/${id}/original`, thumb = `/api/v1/assets/${id}/thumbnail`;
    let node;
    if (kind === "image") {
      node = el("img", { src: original, alt: name });
      node.addEventListener("error", () => { if (node.src.endsWith("/original")) node.src = thumb; }, { once: true });
    } else if (kind === "video") node = el("video", { src: original, controls: true, poster: thumb, preload: "metadata" });
    else if (kind === "audio") node = el("audio", { src: original, controls: true, preload: "metadata" });
    else if (kind === "text") node = el("pre", { class: "excerpt", text: tl.querySelector(".snippet")?.textContent || name });
    else node = el("img", { src: thumb, alt: name });
    media.replaceChildren(node);
    $("#lb-link").href = tl.getAttribute("href");
    $("#lb-name").textContent = name;
    $("#lb-pos").textContent = `${at + 1} / ${items.length}`;
    box.dataset.asset = id;
  };
  const open = (tl) => {
    items = [...tl.closest(".grid").querySelectorAll(".tile")];
    at = Math.max(0, items.indexOf(tl));
    opener = tl;
    box.hidden = false;
    document.body.classList.add("lightbox-open");
    show();
    $(".lb-close", box).focus();
  };
  const close = () => {
    box.hidden = true;
    media.replaceChildren();
    document.body.classList.remove("lightbox-open");
    opener?.focus();
  };
  const step = (d) => { if (items.length) { at = (at + d + items.length) % items.length; show(); } };
  document.addEventListener("click", (e) => {
    const zoom = e.target.closest(".tile .zoom");
    if (zoom && zoom.closest(".grid")) { e.preventDefault(); open(zoom.closest(".tile")); }
  });
  box.addEventListener("click", (e) => {
    const b = e.target.closest("[data-lb]");
    if (b) ({ close, prev: () => step(-1), next: () => step(1) })[b.dataset.lb]();
    else if (e.target === box) close();
  });
  document.addEventListener("keydown", (e) => {
    if (!box.hidden) {
      if (e.key === "Escape") { e.preventDefault(); close(); }
      else if (e.key === "ArrowLeft") { e.preventDefault(); step(-1); }
      else if (e.key === "ArrowRight") { e.preventDefault(); step(1); }
      return;
    }
    const tl = document.activeElement?.closest?.(".tile");
    if (e.key === " " && tl && tl.closest(".grid")) { e.preventDefault(); open(tl); }
  });
}

// ------------------------------------------------------------------ map
// Points on a world outline (Natural Earth land, 110m, vendored): equirectangular, no tiles.
const SVG = "http://www.w3.org/2000/svg";
function worldMap(figure) {
  const W = 720, H = 360;
  const xy = ([lon, lat]) => [((lon + 180) / 360 * W).toFixed(1), ((90 - lat) / 180 * H).toFixed(1)];
  const svgEl = (tag, attrs) => { const n = document.createElementNS(SVG, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; };
  fetch(figure.dataset.outline).then((r) => r.json()).then((topo) => {
    const land = window.topojson.feature(topo, topo.objects.land);
    const rings = [];
    for (const f of land.features || [land]) {
      const g = f.geometry;
      const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
      for (const poly of polys) for (const ring of poly) rings.push("M" + ring.map((p) => xy(p).join(",")).join("L") + "Z");
    }
    $("#map-land").append(svgEl("path", { class: "land", d: rings.join("") }));
  }).catch(() => {});
  api("GET", figure.dataset.points).then((doc) => {
    const layer = $("#map-points");
    for (const p of doc.points) {
      const [x, y] = xy([p.longitude, p.latitude]);
      const link = svgEl("a", { href: `/assets/${p.asset_id}`, "data-asset": p.asset_id });
      const dot = svgEl("circle", { cx: x, cy: y, r: "3.5", class: "point" });
      const title = svgEl("title", {});
      title.textContent = `${p.original_name} (${p.latitude.toFixed(4)}, ${p.longitude.toFixed(4)})`;
      dot.append(title);
      link.append(dot);
      layer.append(link);
    }
    $("#map-count").textContent = doc.points.length
      ? figure.dataset.count.replace("{n}", doc.points.length) + (doc.truncated ? " " + figure.dataset.truncated.replace("{n}", doc.points.length) : "")
      : figure.dataset.none;
  }).catch((e) => { $("#map-count").textContent = e.message; });
}

// ------------------------------------------------------------------ theme
// Light or dark as the system says, until the toggle picks one (a cookie, so the server
// renders the page in it and nothing flashes).
function themeToggle() {
  const button = $("#theme-toggle");
  if (!button) return;
  const root = document.documentElement;
  const current = () => root.dataset.theme || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const label = () => button.setAttribute("aria-pressed", String(current() === "dark"));
  label();
  button.addEventListener("click", () => {
    const next = current() === "dark" ? "light" : "dark";
    root.dataset.theme = next;
    document.cookie = `assetloom_theme=${next}; path=/; max-age=31536000; samesite=lax`;
    label();
  });
}

function searchPage() {
  const status = $("#search-status"), results = $("#results");
  document.querySelectorAll("[data-autosubmit]")
    .forEach((s) => s.addEventListener("change", (e) => e.target.form.submit()));
  lightbox(results);
  dropZone($("#image-drop"), $("#image-input"), async ([file]) => {
    const q = $("#search-form input[name=q]").value.trim();
    status.textContent = t("Searching like {name}…", { name: file.name });
    const form = new FormData();
    form.append("image", file, file.name);
    const url = `/api/v1/search?limit=40${q ? `&q=${encodeURIComponent(q)}` : ""}`;
    try {
      const doc = await upload(url, form);
      results.replaceChildren(...doc.results.map((h) => tile(h, el("span", { class: "score", title: h.explanation || "", text: h.score.toFixed(3) }))));
      const n = doc.results.length;
      status.textContent = q
        ? t(n === 1 ? "{n} result like {name} and “{q}”" : "{n} results like {name} and “{q}”", { n, name: file.name, q })
        : t(n === 1 ? "{n} result like {name}" : "{n} results like {name}", { n, name: file.name });
    } catch (e) {
      status.textContent = t("Search failed: {error}", { error: e.message });
    }
  });
}

function assetPage() {
  const id = $(".asset").dataset.assetId;
  api("GET", $("#provenance").dataset.proof)
    .then((p) => proofBox($("#provenance"), p))
    .catch((e) => { $("#provenance").className = "proof bad"; $("#provenance").textContent = e.message; });
  for (const [sel, render] of [
    ["#copies", (d) => d.matches.map((m) => tile(m, el("span", { class: "badge", text: m.tier })))],
    ["#similar", (d) => d.results.map((h) => tile(h, el("span", { class: "score", text: h.score.toFixed(3) })))],
  ]) {
    const box = $(sel);
    api("GET", box.dataset.src)
      .then((d) => { const items = render(d); box.replaceChildren(...(items.length ? items : [el("p", { class: "status", text: t("None found.") })])); })
      .catch((e) => box.replaceChildren(el("p", { class: "status", text: e.message })));
  }
  mediaPlayer();
  lineageBox($("#lineage"), id);
  // The trash button ([data-trash], static/organise.js) asks, moves and offers Undo.
}

// What the asset was made from and what was made from it (the studio's lineage), shown only
// for an asset that has some: each edge's role, the other asset, and via which one if not this.
async function lineageBox(box, id) {
  let doc;
  try { doc = await api("GET", box.dataset.src); } catch (_) { return; }
  if (!doc.up.length && !doc.down.length) return;
  const link = (assetId, name) => name
    ? el("a", { href: `/assets/${assetId}`, text: name })
    : el("span", { class: "status", text: t("{id} (no longer in the library)", { id: assetId.slice(0, 12) }) });
  const list = (title, edges, key) => {
    if (!edges.length) return null;
    const other = key === "parent" ? "child" : "parent";
    return [el("h3", { text: title }), el("ul", { class: "lineage", "data-direction": key === "parent" ? "up" : "down" },
      edges.map((e) => el("li", { "data-role": e.role }, el("span", { class: "role", text: e.role }), " ", link(e[`${key}_id`], e[`${key}_name`]),
        e[`${other}_id`] === id ? "" : el("span", { class: "status", text: t(" (of {name})", { name: e[`${other}_name`] || e[`${other}_id`].slice(0, 12) }) }))))];
  };
  const made = doc.creation
    ? el("p", { class: "status" }, t("Made by {backend} in ", { backend: doc.creation.backend }), el("a", { href: `/studio/projects/${doc.creation.project_id}`, text: t("project {id}", { id: doc.creation.project_id.slice(0, 8) }) }), ".")
    : null;
  box.append(...[made, list(t("Made from"), doc.up, "parent"), list(t("Made into"), doc.down, "child")].flat().filter(Boolean));
  if (doc.truncated) box.append(el("p", { class: "status", text: t("The chain goes on further.") }));
  box.hidden = false;
}

// Audio and video: play from the moment a search hit named (?t=41.0), seek from the
// transcript, and mark the passage being heard. A document opens at the named page (?page=3).
function mediaPlayer() {
  const params = new URLSearchParams(location.search);
  const page = params.get("page");
  if (page) document.getElementById(`page-${page}`)?.scrollIntoView({ block: "center" });
  const player = $("#player");
  if (!player) return;
  const t = parseFloat(params.get("t"));
  if (Number.isFinite(t) && t >= 0) {
    const start = () => { player.currentTime = t; };
    if (player.readyState >= 1) start(); else player.addEventListener("loadedmetadata", start, { once: true });
  }
  const rows = [...document.querySelectorAll("#passages [data-seek]")];
  rows.forEach((b) => b.addEventListener("click", () => { player.currentTime = parseFloat(b.dataset.seek); player.play().catch(() => {}); }));
  player.addEventListener("timeupdate", () => {
    for (const b of rows) {
      const from = parseFloat(b.dataset.seek), to = parseFloat(b.dataset.end ?? "Infinity");
      b.closest("li").classList.toggle("current", player.currentTime >= from && player.currentTime < to);
    }
  });
}

function uploadPage() {
  const list = $("#upload-list"), status = $("#upload-status");
  let counts = { added: 0, present: 0, skipped: 0, error: 0 };
  const queue = [];
  let running = 0;
  const show = () => { status.textContent = t("{added} added, {present} already present, {not} not added", { added: counts.added, present: counts.present, not: counts.skipped + counts.error }); };
  const pump = () => {
    while (running < 3 && queue.length) {
      const job = queue.shift();
      running++;
      job().finally(() => { running--; show(); pump(); });
    }
  };
  dropZone($("#upload-drop"), $("#upload-input"), (files) => {
    for (const file of files) {
      const bar = el("progress", { max: "1", value: "0" });
      const outcome = el("span", { class: "outcome", text: t("waiting") });
      const row = el("li", { "data-file": file.name }, el("span", { class: "fname", text: file.name }), outcome, bar);
      list.prepend(row);
      queue.push(async () => {
        outcome.textContent = t("uploading");
        const form = new FormData();
        form.append("files", file, file.name);
        try {
          const doc = await upload("/api/v1/assets", form, (f) => { bar.value = f; });
          bar.value = 1;
          const kind = doc.added.length ? "added" : doc.present.length ? "present" : "skipped";
          counts[kind]++;
          const item = doc.added[0] || doc.present[0];
          outcome.className = `outcome outcome-${kind}`;
          outcome.replaceChildren(item ? el("a", { href: `/assets/${item.asset_id}`, text: t(kind) }) : t("skipped: {reason}", { reason: doc.skipped[0]?.reason || "" }));
        } catch (e) {
          counts.error++;
          outcome.className = "outcome outcome-error";
          outcome.textContent = t("failed: {error}", { error: e.message });
        }
      });
    }
    pump();
  });
}

function verifyPage() {
  const out = $("#verdicts"), status = $("#verify-status");
  dropZone($("#verify-drop"), $("#verify-input"), async (files) => {
    status.textContent = t("Checking {n} file(s)…", { n: files.length });
    const form = new FormData();
    files.forEach((f) => form.append("files", f, f.name));
    try {
      const doc = await upload("/api/v1/verify", form);
      status.textContent = "";
      for (const r of doc.results) out.prepend(verdict(r));
    } catch (e) {
      status.textContent = t("Verify failed: {error}", { error: e.message });
    }
  });
}

function verdict(r) {
  const label = r.tier === "none" ? t("no match") : r.tier;
  const box = el("section", { class: "verdict", "data-tier": r.tier },
    el("h2", {}, el("span", { class: `tier tier-${r.tier}`, text: label }), " ", r.file));
  if (r.error) box.append(el("p", { class: "error", text: r.error }));
  const origin = provenanceLine(r);
  if (origin) box.append(origin);
  if (r.tier === "none" && !r.error) box.append(el("p", { class: "status", text: t("Not in this library, and no edited copy of anything in it.") }));
  for (const m of r.matches.slice(0, 5)) {
    const proof = el("div", { class: "proof", text: t("checking proof…") });
    box.append(el("div", { class: "match" },
      el("a", { href: `/assets/${m.asset_id}` }, el("img", { src: `/api/v1/assets/${m.asset_id}/thumbnail`, alt: "" })),
      el("div", {},
        el("div", {}, el("span", { class: `tier tier-${m.tier}`, text: m.tier }), " ",
          el("a", { href: `/assets/${m.asset_id}`, text: m.original_name })),
        el("div", { class: "status", text: t("registered {when} · distance {distance}", { when: localDate(m.registered_at), distance: m.distance }) }),
        proof)));
    proofBox(proof, m.ledger);
  }
  return box;
}

// The file's C2PA manifest and our watermark, when it has either (docs/provenance.md).
function provenanceLine(r) {
  const parts = [];
  if (r.c2pa) {
    const names = r.c2pa.asset_id ? ` naming asset ${r.c2pa.asset_id.slice(0, 12)}` : "";
    const why = r.c2pa.problems?.length ? ` (${r.c2pa.problems.join(", ")})` : "";
    parts.push(`C2PA manifest: ${r.c2pa.state}${names}${why}`);
  }
  const w = r.watermark;
  if (w && w.asset_id) parts.push(`watermark: asset ${w.asset_id.slice(0, 12)} (${Math.round(w.bits_ok * 100)} % of bits)`);
  else if (w && w.bits_ok !== null) parts.push(`watermark: none of ours (closest ${Math.round(w.bits_ok * 100)} % of bits)`);
  if (!parts.length) return null;
  const line = el("p", { class: "status provenance", text: parts.join(" · ") });
  if (r.c2pa) line.dataset.c2pa = r.c2pa.state;
  return line;
}

function duplicatesPage() {
  const out = $("#groups"), status = $("#dup-status");
  const canEdit = out.dataset.canEdit === "true";
  $("#dup-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const button = $("#dup-run");
    button.disabled = true;
    status.textContent = "Comparing every asset…";
    try {
      const doc = await api("GET", `/api/v1/duplicates?similar=${$("#dup-similar").checked}`);
      out.replaceChildren(...doc.groups.map((g, i) => group(g, i, canEdit)));
      status.textContent = doc.groups.length ? `${doc.groups.length} group${doc.groups.length === 1 ? "" : "s"}` : "No duplicates found.";
    } catch (err) {
      status.textContent = `Failed: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
}

function group(g, i, canEdit) {
  const tiles = g.assets.map((a) => {
    const keep = el("input", { type: "checkbox", checked: a.asset_id === g.keeper, "data-keep": a.asset_id });
    const t = tile(a, el("span", { class: "badge", text: a.asset_id === g.keeper ? "keeper" : `d ${a.distance}` }));
    if (a.asset_id === g.keeper) t.classList.add("keeper");
    return el("div", { "data-member": a.asset_id }, t, canEdit ? el("label", { class: "keep" }, keep, "keep") : null);
  });
  const box = el("section", { class: "group", "data-group": String(i) },
    el("div", {}, el("span", { class: `tier tier-${g.tier}`, text: g.tier }), ` ${g.assets.length} assets · suggested keeper: ${g.reason}`),
    el("div", { class: "grid" }, tiles));
  if (canEdit) {
    const button = el("button", { type: "button", class: "danger", text: "Delete the ones not kept" });
    const note = el("span", { class: "status" });
    button.addEventListener("click", async () => {
      const drop = [...box.querySelectorAll("[data-keep]")].filter((c) => !c.checked).map((c) => c.dataset.keep);
      if (!drop.length) { note.textContent = " nothing to delete"; return; }
      if (!confirm(`Delete ${drop.length} asset(s)?`)) return;
      button.disabled = true;
      let done = 0;
      for (const id of drop) {
        try {
          await api("DELETE", `/api/v1/assets/${id}`);
          box.querySelector(`[data-member="${id}"] .tile`).classList.add("removed");
          box.querySelector(`[data-keep="${id}"]`).disabled = true;
          done++;
        } catch (e) { note.textContent = ` ${e.message}`; }
      }
      note.textContent = ` deleted ${done}`;
    });
    box.append(el("div", {}, button, note));
  }
  return box;
}

// ------------------------------------------------------------------ studio
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const running = (job) => job.state === "queued" || job.state === "running";

function jobSteps(list, job) {
  const items = job.steps.map((s) => el("li", {}, el("span", { class: "at", text: `${s.elapsed_s.toFixed(1)} s` }), " ", s.step));
  if (running(job)) items.push(el("li", { class: "status", text: job.state === "queued" ? t("waiting for the studio…") : "…" }));
  list.replaceChildren(...items);
}

// Poll the job until it ends, showing its steps as they come; the last answer.
async function followJob(job, list, status) {
  while (running(job)) {
    jobSteps(list, job);
    status.textContent = job.state === "queued" ? t("Queued.") : t("Working…");
    await sleep(1000);
    job = await api("GET", job.job_url);
  }
  jobSteps(list, job);
  status.textContent = job.error ? `${t(job.state)}: ${job.error.message}` : t("Project {id}: {state}.", { id: job.job_id.slice(0, 8), state: t(job.state) });
  return job;
}

const outputMedia = (o) => (o.media_type || "").startsWith("text/") ? "text" : (o.media_type || "").split("/")[0] || o.kind;

function studioPage() {
  const form = $("#studio-form"), steps = $("#job-steps");
  // The plan's palette: set from here, since the page's CSP allows no inline styles.
  document.querySelectorAll("[data-colour]").forEach((s) => { s.style.background = s.dataset.colour; });
  const rerun = $("[data-rerun]");
  if (rerun) rerun.addEventListener("click", async () => {
    rerun.disabled = true;
    try { const job = await api("POST", rerun.dataset.rerun); location.href = job.page_url; } catch (e) { $("#rerun-status").textContent = e.message; rerun.disabled = false; }
  });
  if (steps?.dataset.job) {  // a project page of a run still going: follow it, then show the report
    api("GET", steps.dataset.job).then((job) => followJob(job, steps, $("#project-state"))).then(() => location.reload())
      .catch((e) => { $("#project-state").textContent = e.message; });
  }
  if (!form) return;
  const status = $("#studio-status"), run = $("#studio-run"), cancel = $("#studio-cancel");
  let style = null, current = null;
  dropZone($("#style-drop"), $("#style-input"), ([file]) => { style = file; $("#style-name").textContent = file.name; });
  cancel.addEventListener("click", async () => {
    if (!current) return;
    try { await api("DELETE", current.job_url); status.textContent = t("Cancelling…"); } catch (e) { status.textContent = e.message; }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    if (style) data.append("style_ref", style, style.name);
    run.disabled = true;
    $("#studio-result").hidden = true;
    status.textContent = t("Sending the brief…");
    try {
      current = await upload("/api/v1/create", data);
      cancel.hidden = false;
      const job = await followJob(current, steps, status);
      showResult(job);
    } catch (err) {
      status.textContent = t("Failed: {error}", { error: err.message });
    } finally {
      run.disabled = false;
      cancel.hidden = true;
      current = null;
    }
  });
}

function showResult(job) {
  const made = (job.result?.outputs || []).filter((o) => o.asset_id);
  $("#studio-outputs").replaceChildren(...made.map((o) =>
    tile({ asset_id: o.asset_id, original_name: o.label, media_type: outputMedia(o) }, el("span", { class: "badge", text: o.kind }))));
  $("#studio-errors").replaceChildren(...(job.result?.outputs || []).filter((o) => o.error)
    .map((o) => el("li", { class: "error" }, el("b", { text: o.label }), `: ${o.error}`)));
  $("#studio-report").href = job.page_url;
  $("#studio-result").hidden = false;
}

function adminPage() {
  const status = $("#admin-status");
  $("#add-user").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      await api("POST", "/api/v1/users", { name: f.get("name"), role: f.get("role"), password: f.get("password") });
      location.reload();
    } catch (err) { status.textContent = err.message; }
  });
  for (const row of document.querySelectorAll("#users tr[data-user]")) {
    const name = row.dataset.user;
    const patch = (body) => api("PATCH", `/api/v1/users/${encodeURIComponent(name)}`, body)
      .then(() => { status.textContent = t("updated {name}", { name }); }).catch((err) => { status.textContent = err.message; });
    $("[data-role]", row).addEventListener("change", (e) => patch({ role: e.target.value }));
    $("[data-disabled]", row).addEventListener("change", (e) => patch({ disabled: e.target.checked }));
  }
}

function accountPage() {
  const status = $("#token-status");
  $("#new-token").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const doc = await api("POST", "/api/v1/tokens", { label: new FormData(e.target).get("label") || "" });
      status.replaceChildren(t("New token (copy it now, it is not shown again): "), el("code", { class: "wrap", text: doc.token }));
    } catch (err) { status.textContent = err.message; }
  });
  for (const b of document.querySelectorAll("[data-revoke]")) {
    b.addEventListener("click", async () => {
      try { await api("DELETE", `/api/v1/tokens/${b.dataset.revoke}`); b.replaceWith(t("revoked")); } catch (err) { status.textContent = err.message; }
    });
  }
}

const pages = { library: libraryPage, search: searchPage, upload: uploadPage, verify: verifyPage, duplicates: duplicatesPage, admin: adminPage, account: accountPage, studio: studioPage };
document.addEventListener("DOMContentLoaded", () => {
  themeToggle();
  if ($(".asset")) assetPage();
  else pages[document.body.dataset.page]?.();
});
