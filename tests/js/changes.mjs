// realtime/changes.js (the live areas' change watcher) in Node, with a stand-in WebSocket and
// stand-in components. A busy tab hears of ten changes to one area: one more rerun is asked for,
// once the area's rerun under way has rendered, not one per change (each would keep the tab a
// rerun further behind), and only after the tab rested five times as long as that rerun took
// (backpressure), unless told the change is urgent; timer polling (the socket down) does not rest.
// Prints one JSON line.
import { sleep, sockets, watcher } from "./stand_ins.mjs";

const mount = await watcher(process.argv[2]);
const triggers = [];
const data = { url: "/_bughunt/changes", since: 0, ticket: "t", every: 0, refresh: 60000, note: false };
const render = () => mount({ key: "live", data: { ...data, drawn: Date.now() }, parentElement: null,
                             setTriggerValue: (name, value) => triggers.push(Date.now()) });
render();
const ws = sockets[0];
ws.onmessage({ data: JSON.stringify({ hello: 1 }) });
ws.onmessage({ data: JSON.stringify({ key: "live", version: 1 }) });
await sleep(1300);  // the first rerun waits for the page's first run to be over (FIRST_QUIET)
const first = triggers.length;
for (let version = 2; version <= 11; version++) {  // its rerun is under way: not rendered yet
  ws.onmessage({ data: JSON.stringify({ key: "live", version }) });
  await sleep(20);
}
const whileBusy = triggers.length;
render();  // the rerun under way is over
const over = Date.now(), took = over - triggers[0];
for (let run = 0; run < 40; run++) {  // the area renders again and again; the socket hears nothing new meanwhile
  await sleep(150);
  render();
}
const rested = (triggers[1] ?? Infinity) - over;
const after = triggers.length;
// The tab rests again after a rerun that took ~700 ms: a change waits it out, unless the socket
// says it is urgent (what the connection panel says changed): then the rerun on its way goes now.
ws.onmessage({ data: JSON.stringify({ key: "live", version: 12 }) });
await sleep(300);
const calm = triggers.length - after;  // the last rest is over: it went
await sleep(400);
render();
ws.onmessage({ data: JSON.stringify({ key: "live", version: 13 }) });
await sleep(300);
const resting = triggers.length - after - calm;  // held back
ws.onmessage({ data: JSON.stringify({ key: "live", version: 14, urgent: 1 }) });
await sleep(300);
const urgent = triggers.length - after - calm - resting;
// Timer polling while the socket is down is paced by the refresh alone: it does not rest.
await sleep(700);
render();  // that rerun took ~1 s: the tab rests ~5 s
data.refresh = 300;
render();
const before = triggers.length;
ws.onclose({ code: 1006 });
await sleep(1000);
const polled = triggers.length - before;
console.log(JSON.stringify({ first, whileBusy, after, took, rested, calm, resting, urgent, polled }));
process.exit(0);
