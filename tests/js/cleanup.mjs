// realtime/changes.js in Node: Streamlit calls a render's cleanup when its element leaves the page,
// and also, at once, for a render that ended after its effect was torn down because a newer
// render of the element began (a new page's run while the watcher's module loads, seen in CI).
// That render and its cleanup may come after the newer render, the element still in the page: the
// area must stay (nothing would rerun it again: the sidebar's panel kept saying "asking this
// browser which it has read"). The element leaving the page drops it. Prints one JSON line.
import { sleep, sockets, watcher } from "./stand_ins.mjs";

const mount = await watcher(process.argv[2]);
const triggers = [];
const element = { isConnected: true, querySelector: () => null };  // the area's element, in the page
const data = { url: "/_bughunt/changes", since: 0, ticket: "t", every: 0, refresh: 60000, note: false };
const render = (drawn) => mount({ key: "panel", data: { ...data, drawn }, parentElement: element,
                                  setTriggerValue: (name, value) => triggers.push(value) });
render(2);  // the new page's render
const torn = render(1);  // the render whose effect was torn down ends last…
torn();  // …and Streamlit runs its cleanup at once
const ws = sockets[0];
ws.onmessage({ data: JSON.stringify({ hello: 1 }) });
await sleep(5300);  // an area whose element left the page is dropped 5 s after its cleanup
const drops = () => ws.sent.filter((message) => message.drop === "panel").length;
const keptDrops = drops();
ws.onmessage({ data: JSON.stringify({ key: "panel", version: 1 }) });
await sleep(300);
const heard = triggers.length;  // the area still reruns when told
const last = render(3);
element.isConnected = false;  // the element left the page (React removes it before the cleanup)
last();
await sleep(5300);
console.log(JSON.stringify({ keptDrops, heard, goneDrops: drops() }));
process.exit(0);
