// The change watcher of one live area (realtime/live.py mounts it in each live fragment).
// It long-polls the change route with the ticket of the area's latest render and reruns the
// area (a trigger value) when the route answers with a newer version, at most once per
// `every` ms. It reports "push" once the route answers, and "polling: <why>" when it cannot
// reach it; then it reruns the area every `refresh` ms itself (timer polling) and tries the
// route again now and then, going back to push once it answers.
// One loop per area, kept across renders; it stops when the area is gone.
const loops = (globalThis.__bughuntChanges ||= new Map());
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
// One rerun at a time per tab: a trigger sent while the page or another area runs interrupts
// that run (its output and its trigger are lost). A watcher is the last element of its area, so
// its render comes at the end of the area's run: a trigger waits until no watcher has rendered
// for QUIET ms (FIRST_QUIET at page load, when the rest of the page runs on after the areas),
// and for the rerun it caused to render, BUSY ms at most.
const tab = (globalThis.__bughuntTurns ||= { busy: null, until: 0, drawn: 0, settled: false });
const QUIET = 60, FIRST_QUIET = 1000, BUSY = 2000;

async function fire(loop, name, value) {
  const waiting = () => (tab.busy && Date.now() < tab.until) ||
    Date.now() - tab.drawn < (tab.settled ? QUIET : FIRST_QUIET);
  while (waiting() && !loop.stopped) await sleep(15);
  if (loop.stopped) return;
  Object.assign(tab, { busy: loop, until: Date.now() + BUSY, settled: true });
  loop.trigger(name, value);
}

export default function (component) {
  const { data, key, setTriggerValue } = component;
  let loop = loops.get(key);
  if (!loop) {
    loop = { since: -1, last: 0, stopped: false, mounted: true, sends: 0 };
    loops.set(key, loop);
    loop.data = data;
    run(loop);
  }
  Object.assign(loop, { data, trigger: setTriggerValue, mounted: true });
  tab.drawn = Date.now();
  if (tab.busy === loop) tab.busy = null;  // its run is over
  sync(loop);
  return () => {
    loop.mounted = false;
    setTimeout(() => {
      if (!loop.mounted) {  // not rendered again: the area is gone
        loop.stopped = true;
        loop.abort && loop.abort.abort();
        loops.delete(key);
      }
    }, 5000);  // a slow rerun may take a while to render it again
  };
}

// The mode this loop sees ("push", or "polling: why") goes to the server until the server's
// render says it has it; a report lost on the way (a page rerun dropped it) is sent again.
function report(loop, mode) {
  if (loop.state !== mode) loop.sends = 0;
  loop.state = mode;
  sync(loop);
}

function sync(loop) {
  if (!loop.state || loop.data.mode === loop.state || loop.stopped || loop.sends >= 3) return;
  if (Date.now() - (loop.reportedAt || 0) < 1500) return;
  loop.reportedAt = Date.now();
  loop.sends += 1;
  fire(loop, "mode", `${loop.state}|${loop.reportedAt}`);  // unique: a repeated value may not be sent
  setTimeout(() => sync(loop), 1600);
}

async function run(loop) {
  let failures = 0;
  while (!loop.stopped) {
    const d = loop.data;
    const control = new AbortController();
    loop.abort = control;
    try {
      const url = `${d.url}?ticket=${encodeURIComponent(d.ticket)}&since=${loop.since}`;
      const answer = await fetch(url, { signal: control.signal, cache: "no-store", credentials: "same-origin" });
      if (!answer.ok) {
        let why = `HTTP ${answer.status}`;
        try { why += ` ${(await answer.json()).error}`; } catch (e) { /* not JSON: a proxy's page */ }
        throw new Error(why);
      }
      const { version } = await answer.json();
      if (typeof version !== "number") throw new Error("not a change route answer");
      failures = 0;
      report(loop, "push");
      const seen = loop.since === -1 ? loop.data.since : loop.since;
      loop.since = version;
      if (version !== seen) {
        const wait = loop.last + loop.data.every - Date.now();
        if (wait > 0) await sleep(wait);  // newer changes meanwhile ride on this rerun
        loop.last = Date.now();
        await fire(loop, "changed", version);
      }
    } catch (error) {
      if (loop.stopped) break;
      failures += 1;
      report(loop, `polling: push unavailable (${String(error.message || error).slice(0, 120)})`);
      loop.since = -1;
      // Timer polling meanwhile: a rerun every refresh, and the route tried again now and then.
      const retry = Date.now() + Math.min(30000, 1000 * 2 ** Math.min(failures, 5));
      do {
        await sleep(loop.data.refresh);
        if (!loop.stopped) await fire(loop, "changed", `tick ${Date.now()}`);
      } while (!loop.stopped && Date.now() < retry);
    }
  }
}
