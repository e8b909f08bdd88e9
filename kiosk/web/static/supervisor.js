// Supervisor screen: refresh the board when /events says something changed, and tick the observation countdowns.
"use strict";
const board = document.getElementById("board");
let pending = false;
let busy = false;

function editing() {
  // Never replace the board under someone's finger: wait while a field in it has focus.
  const active = document.activeElement;
  return board && active && board.contains(active) && active.matches("input, select, textarea");
}

async function refresh() {
  if (!board) return;
  if (busy || editing()) { pending = true; return; }
  busy = true;
  pending = false;
  try {
    const response = await fetch(board.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } });
    if (response.redirected || response.status === 401) { window.location.reload(); return; }
    if (response.ok) { board.innerHTML = await response.text(); }
  } catch (e) {
    pending = true;  // offline for a moment: try again with the next message or tick
  } finally {
    busy = false;
  }
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
      pending = true;  // the server's board says "time is up" in the page's language
    }
  }
  if (pending) refresh();
}

function connect() {
  const source = new EventSource("/events");
  document.body.dataset.live = "connecting";
  source.onopen = () => { document.body.dataset.live = "up"; pending = true; };
  source.onerror = () => { document.body.dataset.live = "down"; };
  source.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.type === "changed" || message.type === "scan") {
      refresh();
    }
    if (message.type === "alarm") {
      refresh();
      document.body.classList.add("alarming");
    }
  };
}

if (board) {
  board.addEventListener("focusout", () => setTimeout(() => { if (pending) refresh(); }, 0));
  connect();
}
setInterval(tick, 1000);
