// The graphql-transport-ws reference server (graphql-ws on ws) for tests/python/test_graphql_ws.py.
// Listens on 127.0.0.1 at the port given as the first argument (0: a free one) and prints the
// port on stdout. The path is /graphql.
//
// - connection_init must carry {token: "let-me-in"}: otherwise onConnect refuses it (4403
//   Forbidden); its `user` is who `greeting` greets.
// - countdown(from): from, from-1 … 0, 20ms apart, then complete.
// - greeting: "Hello, <user of the init payload>", then complete.
// - boom: the resolver throws "boom" → an `error` message.
// - ticks: 0, 1, 2… every 50ms until the client completes it.
// - pinged: the server sends the client a protocol `ping` (graphql-ws servers never do on their
//   own: `useServer`'s keepAlive sends WebSocket ping frames), and yields the pong's payload once
//   the client answered it.
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { buildSchema } from "graphql";

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription {
    countdown(from: Int!): Int!
    greeting: String!
    boom: Int
    ticks: Int!
    pinged: String
  }
`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Pongs awaited per connection, by the graphql-ws context of the connection.
const awaitingPong = new WeakMap();

const roots = {
  subscription: {
    countdown: async function* ({ from }) {
      for (let n = from; n >= 0; n--) {
        yield { countdown: n };
        await sleep(20);
      }
    },
    greeting: async function* (_args, ctx) {
      yield { greeting: `Hello, ${ctx.connectionParams?.user ?? "stranger"}` };
    },
    boom: async function* () {
      throw new Error("boom");
    },
    ticks: async function* () {
      for (let n = 0; ; n++) {
        yield { ticks: n };
        await sleep(50);
      }
    },
    pinged: async function* (_args, ctx) {
      const pong = new Promise((resolve) => awaitingPong.set(ctx, resolve));
      ctx.extra.socket.send(JSON.stringify({ type: "ping", payload: { check: "keep-alive" } }));
      const payload = await pong;
      yield { pinged: payload?.check ?? "a pong without the payload" };
    },
  },
};

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ host: "127.0.0.1", port, path: "/graphql" });
useServer(
  {
    schema,
    roots,
    context: (ctx) => ctx,
    onConnect: (ctx) => ctx.connectionParams?.token === "let-me-in",
    onPong: (ctx, payload) => {
      awaitingPong.get(ctx)?.(payload);
      awaitingPong.delete(ctx);
    },
  },
  wss,
);
wss.on("listening", () => {
  process.stdout.write(`${wss.address().port}\n`);
});
