/* One conversation's item in the sidebar's lists (list.js, together.js); a leaf module: it imports
 * no other module of the workspace but the shared state. */

import { el, paintAvatar } from "../parley/dom.js";
import { S } from "./context.js";

/** A conversation's item in a sidebar list: the `li` with its button (the avatar and `body`, which the
 * caller fills), marked when it is the open conversation; a click calls `open(id)`. */
export function listItem(conv, className, open) {
  const li = el("li", className);
  li.dataset.id = conv.id;
  const button = el("button", "conv-button");
  button.type = "button";
  if (conv.id === S.currentId) {
    li.classList.add("selected");
    button.setAttribute("aria-current", "true");
  }
  const avatar = el("span", "avatar");
  paintAvatar(avatar, conv.customer.name, conv.customer.id);
  const body = el("span", "conv-body");
  button.append(avatar, body);
  button.addEventListener("click", () => open(conv.id));
  li.append(button);
  return { li, body };
}
