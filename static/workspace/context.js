/* What every workspace module shares: the translated strings and the page's configuration (from
 * the template's json_script), the one state object, the socket client and the formatters. It
 * imports no page module, so any of them may import it. */

import { Client, socketUrl } from "../parley/client.js";
import { readJson } from "../parley/dom.js";
import { formats, pageLocale } from "../parley/format.js";
import { storage } from "../parley/storage.js";
import { createState } from "./state.js";

export const T = readJson("ws-strings");
export const CONFIG = readJson("ws-config");
export const ZERO_ID = "00000000-0000-0000-0000-000000000000";
export const HISTORY_PAGE = 50;
export const TYPING_SEND_EVERY = 3000;
export const TYPING_IDLE = 4000;
export const TYPING_SHOW_FOR = 6000;
export const BASE_TITLE = document.title;

export const store = storage("localStorage", "parley.ws.");
export const F = formats(pageLocale(CONFIG.language, navigator.language));

const initialCapacity = document.getElementById("capacity-text").dataset;
export const S = createState({
  capacity: { used: Number(initialCapacity.used), total: Number(initialCapacity.total) },
  soundOn: store.get("sound", false),
});

/** The agent socket. Handlers are registered in handlers.js; main.js starts it. */
export const client = new Client({
  url: socketUrl(CONFIG.socket_path),
  reqPrefix: "w",
  offlineMessage: T.not_connected,
});

export const connected = () => client.ready;
