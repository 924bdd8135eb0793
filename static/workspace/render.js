/* Re-render everything that depends on the connection (after welcome and after a close). */

import { S } from "./context.js";
import { renderConversationHeader } from "./conversation.js";
import { renderList } from "./list.js";
import { renderOffers } from "./offers.js";
import { renderCapacity, renderPresence } from "./topbar.js";

export function renderAll() {
  renderPresence();
  renderCapacity();
  renderList();
  renderOffers();
  if (S.currentId) renderConversationHeader();
}
