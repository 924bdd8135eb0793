/* Building DOM nodes. Text always goes in with textContent: a message, a note or a name is never
 * parsed as HTML. */

import { hue, initials } from "./format.js";

export const $ = (id) => document.getElementById(id);

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/** The JSON a template put in <script type="application/json" id="…"> (Django's json_script). */
export function readJson(id) {
  return JSON.parse(document.getElementById(id).textContent);
}

/** An avatar: initials on a colour derived from `seed`. */
export function paintAvatar(node, name, seed) {
  node.textContent = initials(name);
  node.style.background = "hsl(" + hue(seed || name) + " 55% 92%)";
  node.style.color = "hsl(" + hue(seed || name) + " 50% 26%)"; // 4.5:1 and more on its background
}
