// A legacy subscriptions-transport-ws server (Apollo's older protocol, subprotocol `graphql-ws`)
// for tests/python/test_graphql_ws.py: what a `protocol: graphql-ws` connection meets at a server
// that speaks only the legacy protocol. Listens on 127.0.0.1 at the port given as the first
// argument (0: a free one) and prints the port on stdout. The path is /graphql.
import { createServer } from "node:http";
import transport from "subscriptions-transport-ws";
import { buildSchema, execute, subscribe } from "graphql";

const schema = buildSchema(`
  type Query { hello: String }
  type Subscription { n: Int }
`);

const server = createServer();
transport.SubscriptionServer.create({ schema, execute, subscribe }, { server, path: "/graphql" });
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(server.address().port);
});
