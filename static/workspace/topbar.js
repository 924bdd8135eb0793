/* The top bar: connection state, presence and capacity. */

import { $ } from "../parley/dom.js";
import { fmt } from "../parley/format.js";
import { S, T, client } from "./context.js";
import { toast } from "./notify.js";

export function setConnection(state) {
  $("ws").dataset.connection = state;
  $("conn").dataset.state = state;
  $("conn-text").textContent = T[state] || state;
  $("presence").disabled = state !== "connected";
}

export function renderPresence() {
  $("presence-dot").dataset.presence = $("presence").value;
}

export function renderCapacity() {
  const { total, used } = S.capacity;
  const pct = total > 0 ? Math.min(100, Math.round((used / total) * 100)) : 100;
  $("capacity-fill").style.width = pct + "%";
  $("capacity-fill").dataset.level = pct >= 100 ? "full" : pct >= 75 ? "high" : "ok";
  $("capacity-meter").setAttribute("aria-valuenow", String(used));
  $("capacity-meter").setAttribute("aria-valuemax", String(total));
  const text = $("capacity-text");
  text.dataset.used = used;
  text.dataset.total = total;
  text.textContent = used + " / " + total;
  $("capacity").title = fmt(T.capacity, { used, total });
}

export function setPresence(status) {
  const select = $("presence");
  const previous = S.agent ? S.agent.presence : select.value;
  select.value = status;
  renderPresence();
  client.request({ type: "presence", status }).then(
    () => {
      if (S.agent) S.agent.presence = status;
    },
    (error) => {
      select.value = previous;
      renderPresence();
      toast({ title: T.error, body: error.message, kind: "error" });
    }
  );
}
