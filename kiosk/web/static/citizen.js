// Citizen screen: shows each scan outcome and each call from /events, then returns to the idle prompt.
"use strict";
const SHOW_MS = 8000;
const CALLED_KEPT = 4;
let idleTimer = null;

function show(kind) {
  const screen = document.getElementById("screen");
  screen.className = kind;
  for (const id of ["idle", "accepted", "rejected", "turn"]) {
    document.getElementById(id).hidden = id !== kind;
  }
  clearTimeout(idleTimer);
  if (kind !== "idle") idleTimer = setTimeout(() => show("idle"), SHOW_MS);
}

function render(outcome) {
  if (outcome.accepted) {
    document.getElementById("ticket").textContent = outcome.ticket;
    document.getElementById("name").textContent = outcome.given_name || "";
    const dose = document.getElementById("dose");
    dose.hidden = !outcome.due_dose;
    for (const n of dose.querySelectorAll(".n")) n.textContent = outcome.due_dose || "";
    document.getElementById("msg-vi").textContent = outcome.message_vi;
    document.getElementById("msg-en").textContent = outcome.message_en;
    show("accepted");
  } else {
    document.getElementById("err-vi").textContent = outcome.message_vi;
    document.getElementById("err-en").textContent = outcome.message_en;
    show("rejected");
  }
}

function called(message) {
  document.getElementById("turn-ticket").textContent = message.ticket;
  for (const el of document.querySelectorAll("#turn .desk")) el.textContent = message.desk;
  show("turn");
  const list = document.getElementById("called");
  const item = document.createElement("li");
  item.textContent = message.ticket + " → " + message.desk;
  list.prepend(item);
  while (list.children.length > CALLED_KEPT) list.lastChild.remove();
}

function connect() {
  const link = document.getElementById("link");
  const source = new EventSource("/events");
  source.onopen = () => { link.className = "up"; };
  source.onerror = () => { link.className = "down"; };
  source.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.type === "scan") render(message.outcome);
    if (message.type === "called") called(message);
  };
}
connect();
