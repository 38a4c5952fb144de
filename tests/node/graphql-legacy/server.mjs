// Apollo's subscriptions-transport-ws server (subprotocol `graphql-ws`, the legacy GraphQL over
// WebSocket protocol) for tests/python/test_graphql_ws_legacy.py. Listens on 127.0.0.1 at the
// port given as the first argument (0: a free one) and prints the port on stdout. Path /graphql.
//
// - connection_init must carry {token: "let-me-in"}: otherwise onConnect refuses it and the
//   server answers `connection_error` with {message: "Forbidden"}; its `user` is who
//   `greeting` greets.
// - countdown(from): from, from-1 … 0, 20ms apart, then complete.
// - greeting: "Hello, <user of the init payload>", then complete.
// - boom: the subscribe function throws "boom".
// - ticks: 0, 1, 2… every 50ms until the client stops it.
// - keepAlive: a `ka` every 100ms (and one right after `connection_ack`).
import { createRequire } from "node:module";
import { buildSchema, execute, subscribe } from "graphql";

const require = createRequire(import.meta.url);
const { SubscriptionServer } = require("subscriptions-transport-ws");
// ws 7 (what subscriptions-transport-ws supports) names its server class `Server`.
const { Server: WebSocketServer } = require("ws");

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription {
    countdown(from: Int!): Int!
    greeting: String!
    boom: Int
    ticks: Int!
  }
`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const rootValue = {
  countdown: async function* ({ from }) {
    for (let n = from; n >= 0; n--) {
      yield { countdown: n };
      await sleep(20);
    }
  },
  greeting: async function* (_args, context) {
    yield { greeting: `Hello, ${context?.user ?? "stranger"}` };
  },
  boom: () => {
    throw new Error("boom");
  },
  ticks: async function* () {
    for (let n = 0; ; n++) {
      yield { ticks: n };
      await sleep(50);
    }
  },
};

const port = Number(process.argv[2] ?? 0);
const wss = new WebSocketServer({ host: "127.0.0.1", port, path: "/graphql" });
SubscriptionServer.create(
  {
    schema,
    rootValue,
    execute,
    subscribe,
    keepAlive: 100,
    onConnect: (params) => {
      if (params?.token !== "let-me-in") {
        throw new Error("Forbidden");
      }
      return { user: params.user };
    },
  },
  wss,
);
wss.on("listening", () => {
  process.stdout.write(`${wss.address().port}\n`);
});
