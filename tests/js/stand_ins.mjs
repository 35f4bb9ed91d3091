// A browser's stand-ins for realtime/changes.js in Node: a WebSocket that keeps what the watcher
// sends, and a document and window without user input or history. Import it before the watcher.
import { readFileSync } from "node:fs";

export const sockets = [];
globalThis.location = { href: "http://127.0.0.1/" };
globalThis.document = { addEventListener() {} };  // no user input here
globalThis.window = { addEventListener() {} };  // nor history
globalThis.WebSocket = class {
  constructor(url) { this.url = url; this.sent = []; sockets.push(this); }
  send(text) { this.sent.push(JSON.parse(text)); }
  close() {}
};

export const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// The watcher's render function (its module's default export), from the file at `path`.
export async function watcher(path) {
  const source = readFileSync(path, "utf8");
  return (await import("data:text/javascript," + encodeURIComponent(source))).default;
}
