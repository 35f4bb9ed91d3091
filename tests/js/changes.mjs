// realtime/changes.js (the live areas' change watcher) in Node, with a stand-in WebSocket and
// stand-in components. A busy tab hears of ten changes to one area: one more rerun is asked for,
// once the area's rerun under way has rendered, not one per change (each would keep the tab a
// rerun further behind), and only after the tab rested five times as long as that rerun took
// (backpressure). Prints one JSON line.
import { readFileSync } from "node:fs";

const sockets = [];
globalThis.location = { href: "http://127.0.0.1/" };
globalThis.document = { addEventListener() {} };  // no user input here
globalThis.window = { addEventListener() {} };  // nor history
globalThis.WebSocket = class {
  constructor(url) { this.url = url; this.sent = []; sockets.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() {}
};
const source = readFileSync(process.argv[2], "utf8");
const mount = (await import("data:text/javascript," + encodeURIComponent(source))).default;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

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
console.log(JSON.stringify({ first, whileBusy, after: triggers.length, took, rested }));
process.exit(0);
