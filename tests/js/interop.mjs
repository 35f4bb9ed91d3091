// What the original Next.js frontend does: connect, join scan_<id>, receive that scan's
// progress, leave. Prints one JSON line with what happened; exits non-zero on timeout.
import { io } from "socket.io-client";

const [url, scanId] = process.argv.slice(2);
const room = `scan_${scanId}`;
const socket = io(url, { auth: { subscribe: "rooms" }, reconnection: false, timeout: 5000 });
const result = { connected: false, joined: null, progress: [], left: null, seqs: [] };
const timer = setTimeout(() => { console.log(JSON.stringify({ ...result, error: "timeout" })); process.exit(1); }, 20000);

// The gateway's backlog check: acknowledging it says everything sent before it has arrived.
socket.on("backlog_check", (_data, ack) => ack(true));
socket.on("connect_error", (err) => { console.log(JSON.stringify({ ...result, error: String(err) })); process.exit(1); });
socket.on("connect", async () => {
  result.connected = true;
  result.joined = await socket.emitWithAck("join_room", { room });
  console.log("JOINED");  // the test publishes once it reads this
});
socket.on("scan_progress", async (data) => {
  result.progress.push([data.scan_id, data.progress]);
  result.seqs.push(data.seq);
  if (data.progress >= 100) {
    result.left = await socket.emitWithAck("leave_room", { room });
    socket.disconnect();
    clearTimeout(timer);
    console.log(JSON.stringify(result));
  }
});
