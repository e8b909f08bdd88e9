// Supervisor screens: the live part of each page ([data-part]: the board, a ticket, the lots) and the severe-reaction
// banner refresh themselves when /events says something changed; a form in them is sent with fetch() and the part is
// replaced where it stands, so the page never jumps back to the top after a tap. Observation countdowns tick.
"use strict";
const live = document.querySelector("[data-part]");
const alarms = document.getElementById("alarms");
const messages = document.getElementById("messages");
let pending = false;
let busy = false;
let generation = 0;  // bumped by every form sent: a refresh fetched before it must not overwrite its answer

function editing() {
  // Never replace a part under someone's finger: wait while a field in it has focus or holds typed text.
  const active = document.activeElement;
  if (live && active && live.contains(active) && active.matches("input, select, textarea")) return true;
  return live && [...live.querySelectorAll("input[type=radio]:checked, input:not([type=hidden]):not([type=radio])")]
    .some((el) => el.type === "radio" ? !el.defaultChecked : el.value !== el.defaultValue);
}

function partOf(html, id) {
  // The element with this id in a fetched page, or the fetched text itself (a fragment route).
  const doc = new DOMParser().parseFromString(html, "text/html");
  const found = id && doc.getElementById(id);
  return { doc, html: found ? found.innerHTML : html };
}

async function fetchInto(el) {
  const started = generation;
  const response = await fetch(el.dataset.src, {
    credentials: "same-origin", headers: { "Accept": "text/html", "X-Live-Refresh": "1" },  // must not set the cookie
  });
  if (response.redirected || response.status === 401) { window.location.reload(); return; }
  const text = response.ok ? await response.text() : null;
  if (started !== generation || (el === live && editing())) { pending = true; return; }  // stale, or typing began
  if (text !== null) replace(el, partOf(text, el.id).html);
}

function replace(el, html) {
  // Only when something changed: a button replaced by its twin would swallow a tap landing at that moment.
  const fresh = document.createElement("template");
  fresh.innerHTML = html;
  if (fresh.innerHTML !== el.innerHTML) el.innerHTML = fresh.innerHTML;
}

async function refresh() {
  if (busy) { pending = true; return; }
  busy = true;
  pending = false;
  try {
    if (alarms) await fetchInto(alarms);  // first, and even while someone types: a severe reaction cannot wait
    if (live && editing()) pending = true;
    else if (live) await fetchInto(live);
  } catch (e) {
    pending = true;  // offline for a moment: try again with the next message or tick
  } finally {
    busy = false;
  }
}

function showMessages(doc) {
  const found = doc.getElementById("messages");
  messages.innerHTML = found ? found.innerHTML : "";
  settleMessages();
}

function settleMessages() {
  for (const p of messages.querySelectorAll("p")) setTimeout(() => p.remove(), p.matches(".error") ? 12000 : 6000);
}

async function send(form, body) {
  generation += 1;
  const response = await fetch(form.action, {
    method: "POST", body, credentials: "same-origin",
    headers: { "Accept": "text/html", "X-CSRFToken": document.querySelector("meta[name=csrf-token]").content },
  });
  const text = await response.text();
  const { doc } = partOf(text, null);
  const same = live && doc.getElementById(live.id);
  const here = new URL(response.url).pathname === window.location.pathname;
  if (response.ok && (!same || !here)) { window.location.assign(response.url); return; }  // it leads elsewhere
  if (!same) { form.submit(); return; }  // a refusal another page explains: let the browser show that page
  generation += 1;
  live.innerHTML = same.innerHTML;
  const banner = doc.getElementById("alarms");
  if (alarms && banner) alarms.innerHTML = banner.innerHTML;
  showMessages(doc);
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.closest("[data-part], #alarms") || form.method.toLowerCase() !== "post") return;
  event.preventDefault();
  const submitter = event.submitter;
  const body = new FormData(form, submitter);  // before disabling it: a disabled button's value is not sent
  if (submitter) submitter.disabled = true;  // a second tap must not send it twice
  send(form, body).catch(() => form.submit());
});

document.body.classList.add("js");
if (messages) {
  messages.addEventListener("click", (event) => { if (event.target.closest("p")) event.target.closest("p").remove(); });
  settleMessages();
}

function tick() {
  for (const el of document.querySelectorAll(".countdown[data-remaining]")) {
    let left = Number(el.dataset.remaining) - 1;
    if (left <= 0) {
      left = 0;
      el.classList.add("due");
    }
    el.dataset.remaining = String(left);
    if (!el.classList.contains("due")) {
      el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    } else if (left === 0 && el.dataset.doneText !== "1") {
      el.dataset.doneText = "1";
      pending = true;  // the server's page says "time is up" in the page's language
    }
  }
  if (pending) refresh();
}

function connect() {
  const source = new EventSource("/events");
  document.body.dataset.live = "connecting";
  let opened = false;
  source.onopen = () => {
    document.body.dataset.live = "up";
    if (opened) pending = true;  // back after a break: catch up on what was missed (the page itself is fresh)
    opened = true;
  };
  source.onerror = () => { document.body.dataset.live = "down"; };
  source.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.type === "changed" || message.type === "scan") refresh();
    if (message.type === "alarm") {
      refresh();
      document.body.classList.add("alarming");
    }
  };
}

if (live || alarms) {
  if (live) live.addEventListener("focusout", () => setTimeout(() => { if (pending) refresh(); }, 0));
  connect();
}
setInterval(tick, 1000);
