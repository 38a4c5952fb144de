// The aedes MQTT broker over WebSocket (ws's stream, as aedes documents), on 127.0.0.1 and a
// free port: node broker.mjs prints `ws://127.0.0.1:PORT` once it listens.
// Refuses user `wsrun` unless its password is `letmein` (CONNACK return code 4), and every
// subscription to `forbidden/#` (SUBACK 0x80).
import { createServer } from 'node:http';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';

const aedes = await Aedes.createBroker();

aedes.authenticate = (client, username, password, callback) => {
  if (username === 'wsrun' && String(password) !== 'letmein') {
    const error = new Error('bad user name or password');
    error.returnCode = 4;
    return callback(error, false);
  }
  callback(null, true);
};

aedes.authorizeSubscribe = (client, subscription, callback) => {
  // `null` refuses this one subscription: the SUBACK carries 0x80 for it.
  callback(null, subscription.topic.startsWith('forbidden/') ? null : subscription);
};

const http = createServer();
const wss = new WebSocketServer({ server: http });
wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
http.listen(0, '127.0.0.1', () => {
  console.log(`ws://127.0.0.1:${http.address().port}`);
});
