// The reference Socket.IO server wsrun's tests run against: socket.io's own `Server` (v4, so
// Socket.IO v5 over Engine.IO v4). It listens on 127.0.0.1 at a free port, prints the port on
// stdout, and serves until killed.
//
//   node server.js [--ping-interval MS] [--ping-timeout MS]
//
// What it does (collections/socketio-chat.yaml runs against it with `--env server`):
//   /         `msg` is emitted back with the same arguments; `add` (a, b, ack) acks a + b;
//             `ask` emits `question` asking for an ack, then emits `answer` with the ack's
//             arguments; `bye` emits `bye`, then disconnects the socket (and its connection).
//             A connect with an `auth.token` other than "secret" is refused ("unauthorized").
//   /chat     the same events; every connect without `auth: {token: "secret"}` is refused.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  pingInterval: option("--ping-interval", 25000),
  pingTimeout: option("--ping-timeout", 20000),
  transports: ["websocket"],
});

function serve(socket) {
  socket.on("msg", (...args) => socket.emit("msg", ...args));
  socket.on("add", (a, b, ack) => ack(a + b));
  socket.on("ask", () => {
    socket.emit("question", "ready?", (...answer) => socket.emit("answer", ...answer));
  });
  socket.on("bye", () => {
    socket.emit("bye");
    socket.disconnect(true);
  });
}

function tokenCheck(required) {
  return (socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    if (token === "secret" || (!required && token === undefined)) {
      next();
    } else {
      next(new Error("unauthorized"));
    }
  };
}

io.use(tokenCheck(false));
io.on("connection", serve);
io.of("/chat").use(tokenCheck(true));
io.of("/chat").on("connection", serve);

httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
