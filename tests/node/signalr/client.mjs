// The official SignalR client against a hub: node client.mjs URL. Connects over WebSockets
// without negotiation (the hub is wsrun's mock), then:
// - keeps the arguments of the hub's `Welcome` invocation (sent right after the handshake),
// - invokes Add(40, 2) and keeps its result,
// - invokes Fail() and keeps its error message,
// - sends Shout("hey") (no completion) and keeps the arguments of the `Heard` it makes the hub
//   invoke on the client,
// then prints what it kept as one JSON line: {"welcome", "add", "fail", "heard"}. Exits 1 (with
// {"error"}) on anything else, or after 5 seconds.
import signalR from "@microsoft/signalr";

// The client takes the hub's http(s) URL and turns it into ws(s) itself.
const url = process.argv[2].replace(/^ws/, "http");
const seen = {};
let heard;
const heardOnce = new Promise((resolve) => (heard = resolve));
let welcomed;
const welcomeOnce = new Promise((resolve) => (welcomed = resolve));

const timer = setTimeout(() => {
  console.log(JSON.stringify({ ...seen, error: "timed out" }));
  process.exit(1);
}, 5000);

const connection = new signalR.HubConnectionBuilder()
  .withUrl(url, { skipNegotiation: true, transport: signalR.HttpTransportType.WebSockets })
  .configureLogging(signalR.LogLevel.None)
  .build();
connection.on("Welcome", (...args) => welcomed(args));
connection.on("Heard", (...args) => heard(args));

try {
  await connection.start();
  seen.welcome = await welcomeOnce;
  seen.add = await connection.invoke("Add", 40, 2);
  try {
    await connection.invoke("Fail");
    seen.fail = "no error";
  } catch (e) {
    seen.fail = e.message;
  }
  await connection.send("Shout", "hey");
  seen.heard = await heardOnce;
  await connection.stop();
  clearTimeout(timer);
  console.log(JSON.stringify(seen));
} catch (e) {
  console.log(JSON.stringify({ ...seen, error: String(e) }));
  process.exit(1);
}
