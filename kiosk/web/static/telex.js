// Vietnamese typed the Telex way in fields marked data-telex, whatever on-screen keyboard the Pi shows (a plain Latin
// one is enough): "Nguyeenx Thij" becomes "Nguyễn Thị". aa â, aw ă, ee ê, oo ô, ow ơ, uw ư, dd đ; tones s ´, f `,
// r ̉, x ~, j ̣, z none. A tone key typed twice gives the letter itself ("ss" → "s"), so English words can be typed.
"use strict";
const TONES = { s: "\u0301", f: "\u0300", r: "\u0309", x: "\u0303", j: "\u0323", z: "" };
const TONE_MARKS = /[\u0300\u0301\u0303\u0309\u0323]/g;
const VOWELS = "aăâeêioôơuưy";
const HATTED = "ăâêôơư";
const DOUBLED = { a: "â", e: "ê", o: "ô" };
const HORNED = { a: "ă", o: "ơ", u: "ư" };

function split(ch) {
  // A letter as its base (hats kept) and its tone mark.
  const decomposed = ch.normalize("NFD");
  const tone = (decomposed.match(TONE_MARKS) || [""])[0];
  return { base: decomposed.replace(TONE_MARKS, "").normalize("NFC"), tone };
}

function withCase(letter, like) {
  return like === like.toUpperCase() && like !== like.toLowerCase() ? letter.toUpperCase() : letter;
}

function toneIndex(letters) {
  // Where the tone goes: a hatted vowel, else the last vowel before a final consonant, else the first of two.
  const lower = letters.map((l) => l.base.toLowerCase());
  let vowels = lower.map((b, i) => (VOWELS.includes(b) ? i : -1)).filter((i) => i >= 0);
  if (!vowels.length) return -1;
  const first = vowels[0];
  if (vowels.length > 1 && ((lower[first] === "u" && lower[first - 1] === "q") || (lower[first] === "i" && lower[first - 1] === "g"))) {
    vowels = vowels.slice(1);
  }
  const hatted = vowels.filter((i) => HATTED.includes(lower[i]));
  if (hatted.length) return hatted[hatted.length - 1];
  const last = vowels[vowels.length - 1];
  if (last < lower.length - 1 || vowels.length === 1) return last;
  return vowels.length === 3 ? vowels[1] : vowels[0];
}

function telex(word, key) {
  // The word with key applied, or null when key is an ordinary letter here.
  const k = key.toLowerCase();
  const letters = [...word].map(split);
  const lastIndex = letters.length - 1;
  if (lastIndex < 0) return null;
  const last = letters[lastIndex];
  if (k in TONES) {
    const at = toneIndex(letters);
    if (at < 0) return null;
    const current = letters.find((l) => l.tone);
    if (current && current.tone === TONES[k]) {  // the same tone again: undo it, keep the key as a letter
      return letters.map((l) => l.base).join("") + key;
    }
    if (!current && k === "z") return null;
    return letters.map((l, i) => (i === at ? (l.base + TONES[k]).normalize("NFC") : l.base)).join("");
  }
  const lowerBase = last.base.toLowerCase();
  let changed = null;
  if (k === "d" && lowerBase === "d") changed = "đ";
  else if (k in DOUBLED && lowerBase === k) changed = DOUBLED[k];
  else if (k === "w" && lowerBase in HORNED) changed = HORNED[lowerBase];
  if (changed === null) {
    if (k === "w" && lowerBase === "o" && letters[lastIndex - 1] && letters[lastIndex - 1].base.toLowerCase() === "u") {
      const u = letters[lastIndex - 1];  // "uow" → "ươ"
      return letters.slice(0, lastIndex - 1).map((l) => l.base + l.tone).join("").normalize("NFC")
        + (withCase("ư", u.base) + u.tone).normalize("NFC") + (withCase("ơ", last.base) + last.tone).normalize("NFC");
    }
    return null;
  }
  return (word.slice(0, word.length - [...word][lastIndex].length) + (withCase(changed, last.base) + last.tone)).normalize("NFC");
}

document.addEventListener("beforeinput", (event) => {
  const field = event.target;
  if (!field.matches || !field.matches("input[data-telex]") || event.inputType !== "insertText") return;
  if (!event.data || event.data.length !== 1 || !/[a-z]/i.test(event.data)) return;
  const caret = field.selectionStart;
  if (caret !== field.selectionEnd) return;
  const before = field.value.slice(0, caret);
  const word = before.match(/[\p{L}]*$/u)[0];
  const result = telex(word, event.data);
  if (result === null) return;
  event.preventDefault();
  const head = before.slice(0, before.length - word.length) + result;
  field.value = head + field.value.slice(caret);
  field.setSelectionRange(head.length, head.length);
});
