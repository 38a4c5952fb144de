// The official STOMP client against a broker: node client.mjs URL [LOGIN PASSCODE HOST].
// Connects with STOMP 1.2 only, subscribes (waiting for the subscription's RECEIPT), sends a
// JSON body with a receipt, and prints what came back as one JSON line:
// {"version", "heartBeat", "message": {"headers", "body"}, "receipt": {"headers"}}.
// Exits 1 (with {"error"}) on an ERROR frame, a closed socket, or after 5 seconds.
import { Client, Versions } from '@stomp/stompjs';
import WebSocket from 'ws';

const [url, login = 'guest', passcode = 'guest', host = '/'] = process.argv.slice(2);
const destination = '/topic/stompjs-check';
const seen = {};
let finished = false;

function finish(code, extra) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify({ ...seen, ...extra }));
  client.deactivate().finally(() => process.exit(code));
}

function done() {
  if (seen.message && seen.receipt) finish(0);
}

const client = new Client({
  webSocketFactory: () => new WebSocket(url, Versions.default.protocolVersions()),
  stompVersions: new Versions([Versions.V1_2]),
  connectHeaders: { login, passcode, host },
  heartbeatIncoming: 0,
  heartbeatOutgoing: 0,
  reconnectDelay: 0,
  onConnect: (frame) => {
    seen.version = frame.headers.version;
    seen.heartBeat = frame.headers['heart-beat'];
    client.watchForReceipt('subscribed', () => {
      client.watchForReceipt('sent', (receipt) => {
        seen.receipt = { headers: receipt.headers };
        done();
      });
      client.publish({
        destination,
        body: JSON.stringify({ from: 'stompjs', n: 1 }),
        headers: { 'content-type': 'application/json', receipt: 'sent' },
      });
    });
    client.subscribe(
      destination,
      (message) => {
        seen.message = { headers: message.headers, body: message.body };
        done();
      },
      { receipt: 'subscribed' },
    );
  },
  onStompError: (frame) => finish(1, { error: `ERROR ${frame.headers.message}: ${frame.body}` }),
  onWebSocketClose: (event) => finish(1, { error: `socket closed (${event.code})` }),
});

setTimeout(() => finish(1, { error: 'timed out after 5s' }), 5000);
client.activate();
