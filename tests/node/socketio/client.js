// The official Socket.IO client (socket.io-client v4) against a server given by URL — wsrun's
// Socket.IO mock, in tests/python/test_socketio.py. It emits, waits for acks, joins `/chat` on
// the same connection, stays connected across several of the server's pings, and prints what
// it saw as one JSON line; any failure exits 1 with the reason.
//
//   node client.js http://127.0.0.1:PORT [STAY_MS]
"use strict";

const { io } = require("socket.io-client");

const url = process.argv[2];
const stayMs = Number(process.argv[3] || 1000);
const options = { transports: ["websocket"], reconnection: false, timeout: 5000 };

function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
}

function next(socket, event) {
  return new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
}

async function main() {
  const root = io(url, options);
  await connected(root);
  const disconnects = [];
  root.on("disconnect", (reason) => disconnects.push(reason));
  const echoed = next(root, "msg");
  root.emit("msg", "hello", { from: "socket.io-client" });
  const seen = { echo: await echoed };
  seen.ack = await root.timeout(2000).emitWithAck("add", 2, 3);

  const chat = io(`${url}/chat`, { ...options, auth: { token: "secret" } });
  await connected(chat);
  const chatEcho = next(chat, "msg");
  chat.emit("msg", "in chat");
  seen.chat_echo = await chatEcho;
  seen.chat_ack = await chat.timeout(2000).emitWithAck("add", 1, 4);

  await new Promise((resolve) => setTimeout(resolve, stayMs));
  seen.ack_after_pings = await root.timeout(2000).emitWithAck("add", 2, 3);
  seen.disconnects = [...disconnects];
  seen.same_connection = root.io === chat.io;
  chat.disconnect();
  root.disconnect();
  process.stdout.write(`${JSON.stringify(seen)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e && e.message ? e.message : e}\n`);
  process.exit(1);
});
