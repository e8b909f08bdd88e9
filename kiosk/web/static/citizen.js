// Citizen screen: shows each scan outcome from /events, then returns to the idle prompt.
"use strict";
const SHOW_MS = 8000;
let idleTimer = null;

function show(kind) {
  const screen = document.getElementById("screen");
  screen.className = kind;
  for (const id of ["idle", "accepted", "rejected"]) {
    document.getElementById(id).hidden = id !== kind;
  }
}

function render(outcome) {
  if (outcome.accepted) {
    document.getElementById("ticket").textContent = outcome.ticket;
    document.getElementById("name").textContent = outcome.given_name || "";
    document.getElementById("msg-vi").textContent = outcome.message_vi;
    document.getElementById("msg-en").textContent = outcome.message_en;
    show("accepted");
  } else {
    document.getElementById("err-vi").textContent = outcome.message_vi;
    document.getElementById("err-en").textContent = outcome.message_en;
    show("rejected");
  }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => show("idle"), SHOW_MS);
}

function connect() {
  const link = document.getElementById("link");
  const source = new EventSource("/events");
  source.onopen = () => { link.className = "up"; };
  source.onerror = () => { link.className = "down"; };
  source.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.type === "scan") render(message.outcome);
  };
}
connect();
