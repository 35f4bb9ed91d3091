// The change watcher of one live area (realtime/live.py mounts it in each live fragment).
// Components v2 render in the page, so every area of a tab shares this window's one hub and its
// ONE WebSocket to the change socket (realtime/push.py): a WebSocket is not one of the browser's
// six HTTP connections per host, so any number of tabs works. Each render of an area sends the
// socket a watch (the area's fresh ticket, and the version its render shows); the socket says
// when that version moved, and the area reruns (a trigger value), at most once per `every` ms.
// While the socket cannot be reached (or says no hello) each area reruns every `refresh` ms
// itself (timer polling) while the hub tries the socket again now and then, going back to push
// once it answers. The watcher of the area with `note` (the sidebar's) shows which it does.
const hub = (globalThis.__bughuntChanges ||= {
  areas: new Map(), ws: null, up: false, failures: 0, url: null, retry: null,
  busy: null, until: 0, drawn: 0, settled: false, input: 0, batchOpen: false, joined: false, leaving: null,
});
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
// One rerun at a time per tab: a tab that asked for more than it can draw fell further behind
// with each (backpressure), and triggers sent in one go reach Streamlit as one rerun (the others
// are lost). A watcher is the last element of its area, so its render comes at the end of the
// area's run: a trigger waits until no watcher has rendered for QUIET ms (FIRST_QUIET at page
// load, when the rest of the page runs on after the areas), and for the rerun it caused to
// render, BUSY ms at most. QUIET is a short margin only: the busy area's watcher rendering says
// its run is over (a 60 ms margin cost one Dashboard tab's p95 about 100 ms).
const QUIET = 15, FIRST_QUIET = 1000, BUSY = 2000;
// Streamlit sends a tab's widget changes in a batch it flushes a task after the first, and a batch
// holding any fragment's trigger reruns only that fragment: a pick outside the live areas that a
// trigger joined never ran the page. So a trigger waits until the tab's input has been quiet for
// INPUT_QUIET ms (covers a widget that sends its change a little after the input, like a slider).
// Input in the moment between a trigger and its flush joins the trigger's batch: then the area
// asks for a rerun of the page ("page", realtime/live.py), which runs with the change.
const INPUT_QUIET = 250;
// A trigger sent after a click on a page link but before the new page's run began reached the
// server with the old page, and Streamlit's folding of the two requests kept the last one's page:
// the link led nowhere. So triggers wait until a watcher mounts (the new page's areas, drawn anew)
// or the address changes, LEAVE ms at most (a page without live areas).
const LEAVE = 5000;
// The listeners call the hub's handlers, which each evaluation of this module sets: a tab open
// across a dashboard upgrade keeps its hub (and listeners) and gets the new handlers.
hub.heard = (event) => {
  hub.input = Date.now();
  if (hub.batchOpen) hub.joined = true;
  if (event.type === "click" && leadsAway(event)) hub.left();
};
hub.left = () => { hub.leaving = { at: Date.now(), from: location.href }; };
if (!hub.listening) {
  hub.listening = true;
  for (const type of ["pointerdown", "pointerup", "click", "keydown", "input", "change"]) {
    document.addEventListener(type, (event) => hub.heard(event), true);
  }
  window.addEventListener("popstate", () => hub.left());
}
const HELLO = 15000;  // ms for the socket to say hello (the tab polls meanwhile): a proxy's silent stand-in counts as refused

function leadsAway(event) {
  const link = event.target.closest?.("a[href]");
  return Boolean(link) && link.target !== "_blank" && !(event.ctrlKey || event.metaKey || event.shiftKey) &&
    new URL(link.href, location.href).origin === location.origin;
}

function navigating() {
  if (hub.leaving && (Date.now() - hub.leaving.at > LEAVE || location.href !== hub.leaving.from)) hub.leaving = null;
  return Boolean(hub.leaving);
}

async function fire(area, name, value) {
  const waiting = () => (hub.busy && Date.now() < hub.until) || Date.now() - hub.input < INPUT_QUIET ||
    Date.now() - hub.drawn < (hub.settled ? QUIET : FIRST_QUIET) || navigating();
  while (waiting() && area.mounted && !area.stopped) await sleep(15);
  // An area drawn anew mounts a new watcher (a new key): the old one's trigger would rerun nothing,
  // and its render, awaited as the end of that rerun, would never come.
  if (area.stopped || !area.mounted) return;
  Object.assign(hub, { busy: area, until: Date.now() + BUSY, settled: true });
  trigger(area, name, value);
}

function trigger(area, name, value) {
  Object.assign(hub, { batchOpen: true, joined: false });
  area.trigger(name, value);
  setTimeout(() => {  // queued behind Streamlit's flush (both setTimeout 0, run in order)
    hub.batchOpen = false;
    // (a page link that joined reruns the whole app itself, and a trigger now would undo it)
    if (hub.joined && area.mounted && !navigating()) trigger(area, "page", `${Date.now()}`);
  }, 0);
}

export default function (component) {
  const { data, key, setTriggerValue } = component;
  let area = hub.areas.get(key);
  if (!area?.mounted) hub.leaving = null;  // a watcher mounts: a page's run has begun
  if (!area) {
    area = { key, last: 0, stopped: false, pending: false, refused: null };
    hub.areas.set(key, area);
    area.data = data;
    poll(area);
  }
  Object.assign(area, { data, trigger: setTriggerValue, mounted: true, refused: null, root: component.parentElement });
  hub.drawn = Date.now();
  if (hub.busy === area) hub.busy = null;  // its run is over
  hub.url = new URL(data.url, location.href).href.replace(/^http/, "ws");
  if (!hub.ws && !hub.retry) connect();  // (while it waits to try again, the retry's timer connects)
  send({ watch: key, ticket: data.ticket, since: data.since });
  show();
  return () => {
    area.mounted = false;
    setTimeout(() => {
      if (!area.mounted) {  // not rendered again: the area is gone
        area.stopped = true;
        hub.areas.delete(key);
        send({ drop: key });
      }
    }, 5000);  // a slow rerun may take a while to render it again
  };
}

function send(message) {
  if (hub.up && hub.ws) hub.ws.send(JSON.stringify(message));
}

function connect() {
  let ws;
  try {
    ws = new WebSocket(hub.url);
  } catch (error) {
    return down(String(error.message || error));
  }
  hub.ws = ws;
  const silent = setTimeout(() => ws.close(), HELLO);
  ws.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch (error) { return; }
    if (message.hello) {
      clearTimeout(silent);
      Object.assign(hub, { up: true, failures: 0, why: null });
      for (const area of hub.areas.values()) send({ watch: area.key, ticket: area.data.ticket, since: area.data.since });
      return show();
    }
    const area = hub.areas.get(message.key);
    if (!area) return;
    if (message.renew) {
      fire(area, "changed", `renew ${Date.now()}`);  // its next render brings a fresh ticket
    } else if (message.error) {
      area.refused = String(message.error).slice(0, 120);  // it polls until a render brings a fresh ticket
      show();
    } else if (typeof message.version === "number") {
      changed(area, message.version);
    }
  };
  ws.onclose = (event) => {
    clearTimeout(silent);
    const was = hub.up;
    Object.assign(hub, { ws: null, up: false });
    down(was ? `the change socket closed (${event.code})` : `the change socket was refused (${event.code})`);
  };
}

function down(why) {
  hub.failures += 1;
  hub.why = why;
  show();
  if (hub.retry) return;
  hub.retry = setTimeout(() => {
    hub.retry = null;
    if (!hub.ws) connect();
  }, Math.min(30000, 500 * 2 ** Math.min(hub.failures, 6)));
}

async function changed(area, version) {
  // One rerun per area on its way at a time: newer changes ride on it (its render reads the newest
  // store, and its watch tells the socket what it shows, which says again if that is behind).
  // Pending until the trigger is sent (or skipped, the watcher gone): otherwise every notice heard
  // while the tab is busy queued a rerun of its own, and a busy tab fell further behind with each.
  if (area.pending) return;
  area.pending = true;
  const wait = area.last + area.data.every - Date.now();
  if (wait > 0) await sleep(wait);
  await fire(area, "changed", `${version}|${Date.now()}`);  // unique: a repeated value may not be sent
  area.last = Date.now();
  area.pending = false;
}

// Timer polling while the socket is down or refuses this area's ticket.
async function poll(area) {
  let last = Date.now();
  while (!area.stopped) {
    await sleep(250);  // short steps: a new refresh (the sidebar's slider) applies at once
    if (Date.now() - last < area.data.refresh) continue;
    last = Date.now();
    if (!area.stopped && (!hub.up || area.refused)) await fire(area, "changed", `tick ${last}`);
  }
}

// How the tab's live areas update, in the watcher that shows it (text only: inert).
function show() {
  for (const area of hub.areas.values()) {
    if (!area.data.note || !area.root) continue;
    let line = area.root.querySelector("p");
    if (!line) {
      line = document.createElement("p");
      line.style.cssText = "margin:0;font-size:0.875rem;opacity:0.6;font-family:sans-serif";
      area.root.appendChild(line);
    }
    const every = `every ${area.data.refresh / 1000} s`;
    const why = hub.why || [...hub.areas.values()].map((a) => a.refused).find(Boolean);
    line.textContent = hub.up && !why ? "Live updates: push (on change)"
      : why ? `Live updates: polling fallback, ${every} — push unavailable (${why})`
        : `Live updates: polling ${every} until the change socket answers`;
  }
}
