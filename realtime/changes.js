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
  busy: null, until: 0, fired: 0, rest: 0, resting: 0, drawn: 0, settled: false, input: 0, batchOpen: false, joined: false, leaving: null,
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
// Backpressure: after a rerun that took T ms from its trigger to its render, the tab's next trigger
// waits REST × T ms, so a tab spends at most a sixth of its time rerunning. A busy machine (ten tabs
// on one, or a loaded server) draws slowly, and its tabs then ask for fewer reruns instead of
// queueing more work than it can do; news that is not shown yet still rides on the next rerun, and
// notifications show at once anyway (previews, below). One tab on a quiet machine rests ~0.6 s. A
// rest is MAX_REST at most (a rerun that waited for a long run of the page), and a tab resting
// longer than SLOW says so in its connection panel: what it shows may be that much behind. Two
// reruns never rest: of an area told its connection changed (the panel must not say "Connected"
// for seconds after the link went), and timer polling while push fails (paced by the refresh, as
// with push off).
const REST = 5, MAX_REST = 10000, SLOW = 2000;
// Streamlit sends a tab's widget changes in a batch it flushes a task after the first, and a batch
// holding any fragment's trigger reruns only that fragment: a pick outside the live areas that a
// trigger joined never ran the page. So a trigger waits until the tab's input has been quiet for
// INPUT_QUIET ms (covers a widget that sends its change a little after the input, like a slider).
// Input in the moment between a trigger and its flush joins the trigger's batch: then the area
// asks for a rerun of the page ("page", realtime/live.py), which runs with the change. A click in
// that moment is held back and clicked again once the batch is sent: a button is true for one run
// only, and the area's run reset it before the page's rerun could see it ("Create link" gave no
// link).
const INPUT_QUIET = 250;
// A trigger sent after a click on a page link but before the new page's run began reached the
// server with the old page, and Streamlit's folding of the two requests kept the last one's page:
// the link led nowhere. So triggers wait until a watcher mounts (the new page's areas, drawn anew)
// or the address changes, LEAVE ms at most (a page without live areas).
const LEAVE = 5000;
// The socket tells each change once per watch, so a trigger whose rerun never draws its area (lost
// on the way: seen in CI, cause unknown) left the area behind until its heartbeat. An area not drawn
// LOST ms after its trigger asks again (not its watch: its ticket may have expired meanwhile).
const LOST = 10000;
// The listeners call the hub's handlers, which each evaluation of this module sets: a tab open
// across a dashboard upgrade keeps its hub (and listeners) and gets the new handlers.
hub.heard = (event) => {
  if (event.type === "click" && leadsAway(event)) hub.left();  // (before a hold: no page rerun undoes it)
  if (event.type === "click" && hub.batchOpen) {
    event.stopImmediatePropagation();  // (the document's capture phase: before React sees it)
    event.preventDefault();
    const again = new MouseEvent("click", event);
    setTimeout(() => event.target.dispatchEvent(again), 0);  // behind Streamlit's flush
    return;
  }
  hub.input = Date.now();
  if (hub.batchOpen) hub.joined = true;
};
hub.left = () => { hub.leaving = { at: Date.now(), from: location.href }; };
if (!hub.listening) {
  hub.listening = true;
  for (const type of ["pointerdown", "pointerup", "click", "keydown", "input", "change"]) {
    document.addEventListener(type, (event) => hub.heard(event), true);
  }
  window.addEventListener("popstate", () => hub.left());
}
// ms for the socket to say hello, its first send (the tab polls meanwhile): a proxy's silent
// stand-in counts as refused. The first try waits HELLO, as a browser opens one WebSocket at a
// time per address and port (RFC 6455 4.1; Chromium across all tabs): a handshake left hanging
// holds up every other socket to the dashboard, Streamlit's own reconnect among them. A hello
// comes in milliseconds, a second or two on a loaded machine; each further try waits twice as
// long, up to MAX_HELLO, so a dashboard that is slow to answer still gets through.
const HELLO = 5000, MAX_HELLO = 20000;

function leadsAway(event) {
  const link = event.target.closest?.("a[href]");
  return Boolean(link) && link.target !== "_blank" && !(event.ctrlKey || event.metaKey || event.shiftKey) &&
    new URL(link.href, location.href).origin === location.origin;
}

function navigating() {
  if (hub.leaving && (Date.now() - hub.leaving.at > LEAVE || location.href !== hub.leaving.from)) hub.leaving = null;
  return Boolean(hub.leaving);
}

async function fire(area, name, value, hurry = false) {
  const resting = () => !hurry && !area.urgent && Date.now() < hub.rest;
  const waiting = () => (hub.busy && Date.now() < hub.until) || resting() || Date.now() - hub.input < INPUT_QUIET ||
    Date.now() - hub.drawn < (hub.settled ? QUIET : FIRST_QUIET) || navigating();
  while (waiting() && area.mounted && !area.stopped) await sleep(15);
  // An area drawn anew mounts a new watcher (a new key): the old one's trigger would rerun nothing,
  // and its render, awaited as the end of that rerun, would never come.
  area.urgent = false;  // (sent now, or the area is drawn anew: its render reads the store)
  if (area.stopped || !area.mounted) return;
  Object.assign(hub, { busy: area, until: Date.now() + BUSY, settled: true, fired: Date.now() });
  trigger(area, name, value);
  const draws = area.draws;
  setTimeout(() => {
    if (area.draws !== draws || area.stopped || !area.mounted) return;
    area.lost = (area.lost || 0) + 1;
    changed(area, "lost");
  }, LOST);
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
    area = { key, last: 0, stopped: false, pending: false, refused: null, urgent: false };
    hub.areas.set(key, area);
    area.data = data;
    poll(area);
  }
  Object.assign(area, { data, trigger: setTriggerValue, mounted: true, refused: null, root: component.parentElement });
  area.draws = (area.draws || 0) + 1;  // (an area of a hub kept across an upgrade has none yet)
  hub.drawn = Date.now();
  if (hub.busy === area) {  // its run is over: the tab rests (REST), unless BUSY ran out (no measure)
    if (Date.now() <= hub.until) rest(Date.now() - hub.fired);
    hub.busy = null;
  }
  hub.url = new URL(data.url, location.href).href.replace(/^http/, "ws");
  if (!hub.ws && !hub.retry) connect();  // (while it waits to try again, the retry's timer connects)
  send(watchOf(area));
  prune(area, data.after);
  show();
  return () => {
    // Streamlit also calls it, at once, for a render that ended after a newer render of the element
    // began (a page's run while the module loads): it may come last, the element still in the page.
    if (area.root?.isConnected) return;
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

// What the area's render shows: the version of its kinds, and (null where the area shows none) the
// event log position up to which it shows notifications (previews), what its connection panel said.
function watchOf(area) {
  const { ticket, since, after, panel } = area.data;
  return { watch: area.key, ticket, since, after, panel };
}

function rest(took) {
  hub.resting = Math.min(MAX_REST, REST * took);
  hub.rest = Date.now() + hub.resting;
  if (hub.resting > SLOW) setTimeout(show, hub.resting);  // its note goes with the rest
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
  const wait = Math.min(MAX_HELLO, HELLO * 2 ** hub.failures);
  const silent = setTimeout(() => {  // given up now: an open socket's close waits for the stand-in's reply
    ws.onmessage = ws.onclose = null;
    ws.close();
    gone(`the change socket said no hello within ${wait / 1000} s`);
  }, wait);
  ws.onmessage = (event) => {
    let message;
    try { message = JSON.parse(event.data); } catch (error) { return; }
    if (message.hello) {
      clearTimeout(silent);
      Object.assign(hub, { up: true, failures: 0, why: null });
      for (const area of hub.areas.values()) send(watchOf(area));
      return show();
    }
    const area = hub.areas.get(message.key);
    if (!area) return;
    if (message.renew) {
      fire(area, "changed", `renew ${Date.now()}`);  // its next render brings a fresh ticket
    } else if (message.error) {
      area.refused = String(message.error).slice(0, 120);  // it polls until a render brings a fresh ticket
      show();
    } else {
      preview(area, message.notices);  // (new notifications may come ahead of the change that reruns the area)
      if (typeof message.version !== "number") return;
      if (message.urgent) area.urgent = true;  // (a rerun on its way, resting, goes now too)
      changed(area, message.version);
    }
  };
  ws.onclose = (event) => {
    clearTimeout(silent);
    gone(hub.up ? `the change socket closed (${event.code})` : `the change socket was refused (${event.code})`);
  };
}

function gone(why) {
  Object.assign(hub, { ws: null, up: false });
  down(why);
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
    if (!area.stopped && (!hub.up || area.refused)) await fire(area, "changed", `tick ${last}`, true);
  }
}

// How the tab's live areas update, in the watcher that shows it (text only: inert).
function show() {
  for (const area of hub.areas.values()) {
    if (!area.data.note || !area.root) continue;
    let line = area.root.querySelector("p[data-note]");
    if (!line) {
      line = document.createElement("p");
      line.dataset.note = "";
      line.style.cssText = "margin:0;font-size:0.875rem;opacity:0.6;font-family:sans-serif";
      area.root.appendChild(line);
    }
    const every = `every ${area.data.refresh / 1000} s`;
    const why = hub.why || [...hub.areas.values()].map((a) => a.refused).find(Boolean);
    const slow = hub.resting > SLOW && Date.now() < hub.rest ? ` \u2014 this tab draws slowly: it updates every ${Math.round(hub.resting * 1.2 / 1000)} s or so` : "";
    line.textContent = hub.up && !why ? `Live updates: push (on change)${slow}`
      : why ? `Live updates: polling fallback, ${every} — push unavailable (${why})`
        : `Live updates: polling ${every} until the change socket answers`;
  }
}

// Notifications told with a change (realtime/push.py), shown at once in the area's watcher, newest
// first, until a render of the area shows the event log past them (it draws them as the page does).
// Text nodes only (inert), each field isolated (<bdi>: right-to-left text in one cannot reorder
// the next); the server already made format characters visible and bounded each line.
const ICONS = { success: "\u2705", error: "\u26d4", warning: "\u26a0\ufe0f", info: "\u2139\ufe0f" };

function preview(area, notices) {
  if (!area.root || !Array.isArray(notices)) return;
  let box = area.root.querySelector("div[data-previews]");
  if (!box) {
    box = document.createElement("div");
    box.dataset.previews = "";
    box.style.cssText = "line-height:1.6";  // the page's own font and colours
    area.root.prepend(box);
  }
  for (const notice of [...notices].reverse()) {  // oldest first: each goes on top
    const at = String(Number(notice.at));
    // (one the area's render shows already: its notice was on its way as the render came)
    if (Number(at) < area.data.after || box.querySelector(`p[data-at="${at}"]`)) continue;
    const line = document.createElement("p");
    line.dataset.at = at;
    line.style.margin = "0 0 0.5rem";
    const title = document.createElement("strong");
    if (notice.title) title.append(isolated(notice.title), " \u2014 ");
    line.append(`${Object.hasOwn(ICONS, notice.type) ? ICONS[notice.type] : ICONS.info} `, title, isolated(notice.message), ` \u00b7 ${notice.ago} \u00b7 just in`);
    box.prepend(line);
  }
  while (box.children.length > area.data.previews) box.lastChild.remove();
}

function isolated(text) {
  const element = document.createElement("bdi");
  element.textContent = String(text);
  return element;
}

function prune(area, after) {
  const box = area.root?.querySelector("div[data-previews]");
  if (!box || typeof after !== "number") return;
  for (const line of [...box.children]) if (Number(line.dataset.at) < after) line.remove();
}
