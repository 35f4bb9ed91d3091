// The change watcher of one live area (realtime/live.py mounts it in each live fragment).
// Components v2 render in the page, so every area of a tab shares this window's one hub and its
// ONE WebSocket to the change socket (realtime/push.py): a WebSocket is not one of the browser's
// six HTTP connections per host, so any number of tabs works. Each render of an area sends the
// socket a watch (the area's fresh ticket, and the version its render shows); the socket says
// when that version moved, and the area reruns (a trigger value), at most once per `every` ms.
// Each area reports "push" once the socket says hello, and "polling: <why>" while it cannot
// reach it; then the area reruns every `refresh` ms itself (timer polling) while the hub tries
// the socket again now and then, going back to push once it answers.
const hub = (globalThis.__bughuntChanges ||= {
  areas: new Map(), ws: null, up: false, failures: 0, url: null, retry: null,
  busy: null, until: 0, drawn: 0, settled: false,
});
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
// One rerun at a time per tab: a trigger sent while the page or another area runs interrupts
// that run (its output and its trigger are lost). A watcher is the last element of its area, so
// its render comes at the end of the area's run: a trigger waits until no watcher has rendered
// for QUIET ms (FIRST_QUIET at page load, when the rest of the page runs on after the areas),
// and for the rerun it caused to render, BUSY ms at most.
const QUIET = 60, FIRST_QUIET = 1000, BUSY = 2000;
const HELLO = 5000;  // ms for the socket to say hello: a proxy's silent stand-in counts as refused

async function fire(area, name, value) {
  const waiting = () => (hub.busy && Date.now() < hub.until) ||
    Date.now() - hub.drawn < (hub.settled ? QUIET : FIRST_QUIET);
  while (waiting() && !area.stopped) await sleep(15);
  if (area.stopped) return;
  Object.assign(hub, { busy: area, until: Date.now() + BUSY, settled: true });
  area.trigger(name, value);
}

export default function (component) {
  const { data, key, setTriggerValue } = component;
  let area = hub.areas.get(key);
  if (!area) {
    area = { key, last: 0, stopped: false, sends: 0, pending: false, refused: null };
    hub.areas.set(key, area);
    area.data = data;
    poll(area);
  }
  Object.assign(area, { data, trigger: setTriggerValue, mounted: true, refused: null });
  hub.drawn = Date.now();
  if (hub.busy === area) hub.busy = null;  // its run is over
  hub.url = new URL(data.url, location.href).href.replace(/^http/, "ws");
  if (!hub.ws && !hub.retry) connect();  // (while it waits to try again, the retry's timer connects)
  send({ watch: key, ticket: data.ticket, since: data.since });
  if (hub.up) report(area, "push");
  sync(area);
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
      Object.assign(hub, { up: true, failures: 0 });
      for (const area of hub.areas.values()) {
        send({ watch: area.key, ticket: area.data.ticket, since: area.data.since });
        report(area, "push");
      }
      return;
    }
    const area = hub.areas.get(message.key);
    if (!area) return;
    if (message.renew) {
      fire(area, "changed", `renew ${Date.now()}`);  // its next render brings a fresh ticket
    } else if (message.error) {
      area.refused = message.error;  // this area polls until its next render brings a fresh ticket
      report(area, `polling: push unavailable (${String(message.error).slice(0, 120)})`);
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
  for (const area of hub.areas.values()) report(area, `polling: push unavailable (${why})`);
  if (hub.retry) return;
  hub.retry = setTimeout(() => {
    hub.retry = null;
    if (!hub.ws) connect();
  }, Math.min(30000, 500 * 2 ** Math.min(hub.failures, 6)));
}

async function changed(area, version) {
  if (area.pending) return;  // a rerun is on its way: newer changes ride on it
  area.pending = true;
  const wait = area.last + area.data.every - Date.now();
  if (wait > 0) await sleep(wait);
  area.last = Date.now();
  area.pending = false;
  await fire(area, "changed", `${version}|${Date.now()}`);  // unique, as the mode's
}

// Timer polling while the socket is down or refuses this area's ticket.
async function poll(area) {
  while (!area.stopped) {
    await sleep(area.data.refresh);
    if (!area.stopped && (!hub.up || area.refused)) await fire(area, "changed", `tick ${Date.now()}`);
  }
}

// The mode this area sees ("push", or "polling: why") goes to the server until the server's
// render says it has it; a report lost on the way (a page rerun dropped it) is sent again.
function report(area, mode) {
  if (area.state !== mode) area.sends = 0;
  area.state = mode;
  sync(area);
}

function sync(area) {
  if (!area.state || area.data.mode === area.state || area.stopped || area.sends >= 3) return;
  if (Date.now() - (area.reportedAt || 0) < 1500) return;
  area.reportedAt = Date.now();
  area.sends += 1;
  fire(area, "mode", `${area.state}|${area.reportedAt}`);  // unique: a repeated value may not be sent
  setTimeout(() => sync(area), 1600);
}
