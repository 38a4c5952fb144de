// A Socket.IO 2.x server (Socket.IO protocol v4 over Engine.IO v3), which `protocol: socketio`
// (Socket.IO v5 over Engine.IO v4) refuses with a message that names it. It listens on
// 127.0.0.1 at a free port, prints the port on stdout, and serves until killed; a `msg` event
// is emitted back.
"use strict";

const http = require("node:http");
const io = require("socket.io");

const httpServer = http.createServer();
const server = io(httpServer, { transports: ["websocket"] });
server.on("connection", (socket) => {
  socket.on("msg", (...args) => socket.emit("msg", ...args));
});
httpServer.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${httpServer.address().port}\n`);
});
