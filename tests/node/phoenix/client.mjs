// The official Phoenix Channels client against a Phoenix endpoint: node client.mjs URL, where
// URL is the socket's endpoint without `/websocket` (`ws://HOST:PORT/socket`), as phoenix.js
// takes it. With a socket param `token`, heart-beats every 100 ms, it joins `room:lobby`,
// pushes `shout` and waits for its reply and the `shouted` broadcast, tries to join
// `room:secret`, waits for a heart-beat's reply, leaves `room:lobby`, and prints what it saw as
// one JSON line: {"joined", "reply", "broadcast", "refused", "heartbeat", "left"}.
// Exits 1 (with {"error"}) on a socket error or close, a push timeout, or after 5 seconds.
import { Socket } from 'phoenix';
import WebSocket from 'ws';

const [url] = process.argv.slice(2);
const seen = {};
let finished = false;

function finish(code, extra) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify({ ...seen, ...extra }));
  socket.disconnect(() => process.exit(code));
  setTimeout(() => process.exit(code), 500);
}

const socket = new Socket(url, {
  transport: WebSocket,
  params: { token: 't-1' },
  heartbeatIntervalMs: 100,
  reconnectAfterMs: () => 60000,
  rejoinAfterMs: () => 60000,
});
socket.onError((e) => finish(1, { error: `socket error: ${e && e.message}` }));
socket.onClose((e) => finish(1, { error: `socket closed (${e && e.code})` }));
socket.onMessage((msg) => {
  if (msg.topic === 'phoenix' && msg.event === 'phx_reply') seen.heartbeat = msg.payload.status;
});

const timeout = (what) => () => finish(1, { error: `${what} timed out` });

function step(push, name, next) {
  push
    .receive('ok', (r) => { seen[name] = { status: 'ok', response: r }; next(); })
    .receive('error', (r) => { seen[name] = { status: 'error', response: r }; next(); })
    .receive('timeout', timeout(name));
}

const lobby = socket.channel('room:lobby', { nick: 'phoenix.js' });
lobby.on('shouted', (payload) => { seen.broadcast = payload; });

function waitFor(check, then) {
  if (check()) return then();
  setTimeout(() => waitFor(check, then), 20);
}

socket.connect();
step(lobby.join(), 'joined', () =>
  step(lobby.push('shout', { body: 'hi' }), 'reply', () =>
    step(socket.channel('room:secret', {}).join(), 'refused', () =>
      waitFor(() => seen.broadcast && seen.heartbeat, () =>
        step(lobby.leave(), 'left', () => finish(0))))));

setTimeout(() => finish(1, { error: 'timed out after 5s' }), 5000);
