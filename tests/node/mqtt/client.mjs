// The official MQTT.js client against a broker: node client.mjs URL [VERSION] (4: 3.1.1,
// the default; 5: 5.0). Publishes a retained message at QoS 1, then subscribes with a `#`
// filter (which must bring the retained message back, flagged retained), then publishes a
// live message and waits for it; prints one JSON line:
// {"granted", "retained": {topic, payload, qos, retain}, "live": {…}}.
// Exits 1 (with {"error"}) on an error, a closed connection, or after 5 seconds.
import mqtt from 'mqtt';

const [url, version = '4'] = process.argv.slice(2);
const seen = {};
let finished = false;

const client = mqtt.connect(url, {
  protocolVersion: Number(version),
  clientId: `mqttjs-${process.pid}`,
  reconnectPeriod: 0,
  connectTimeout: 5000,
});

function finish(code, extra) {
  if (finished) return;
  finished = true;
  console.log(JSON.stringify({ ...seen, ...extra }));
  client.end(true, () => process.exit(code));
}

setTimeout(() => finish(1, { error: 'timed out' }), 5000);
client.on('error', (e) => finish(1, { error: String(e.message || e) }));
client.on('close', () => finish(1, { error: 'closed' }));

client.on('message', (topic, payload, packet) => {
  const got = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
  if (topic === 'check/retained') {
    seen.retained = got;
    client.publish('check/live', JSON.stringify({ from: 'mqttjs', n: 2 }), { qos: 1 });
  } else if (topic === 'check/live') {
    seen.live = got;
    finish(0);
  }
});

client.on('connect', () => {
  client.publish('check/retained', JSON.stringify({ from: 'mqttjs', n: 1 }), { qos: 1, retain: true }, (err) => {
    if (err) return finish(1, { error: String(err) });
    client.subscribe('check/#', { qos: 1 }, (err, granted) => {
      if (err) return finish(1, { error: String(err) });
      seen.granted = granted.map((g) => g.qos);
    });
  });
});
