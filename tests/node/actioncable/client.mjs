// The official Action Cable client against an Action Cable server: node client.mjs URL.
// Subscribes to ChatChannel (room "1") and waits for its confirmation, performs `speak` and
// waits for the broadcast that answers it, tries to subscribe to SecretChannel, and prints what
// it saw as one JSON line: {"protocol", "connected", "received", "rejected"}.
// Exits 1 (with {"error"}) on a disconnect, or after 5 seconds.
import { createConsumer, adapters } from '@rails/actioncable';
import WebSocket from 'ws';

// node 20 has no WebSocket and no window: `ws` is the client's socket, and the monitor's
// page-visibility listener has no page to listen to.
adapters.WebSocket = WebSocket;
globalThis.addEventListener ??= () => {};
globalThis.removeEventListener ??= () => {};

const [url] = process.argv.slice(2);
const seen = {};
let finished = false;

function finish(code, extra) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify({ ...seen, ...extra }));
  consumer.disconnect();
  setTimeout(() => process.exit(code), 200);
}

function done() {
  if (seen.received && seen.rejected) finish(0);
}

const consumer = createConsumer(url);
const chat = consumer.subscriptions.create({ channel: 'ChatChannel', room: '1' }, {
  connected() {
    seen.protocol = consumer.connection.getProtocol();
    seen.connected = true;
    chat.perform('speak', { body: 'hi' });
    consumer.subscriptions.create({ channel: 'SecretChannel' }, {
      rejected() { seen.rejected = true; done(); },
      connected() { finish(1, { error: 'SecretChannel was confirmed' }); },
    });
  },
  received(data) { seen.received = data; done(); },
  disconnected({ willAttemptReconnect } = {}) {
    finish(1, { error: `disconnected (reconnect: ${willAttemptReconnect})` });
  },
});

setTimeout(() => finish(1, { error: 'timed out after 5s' }), 5000);
