// A TCP proxy that puts a distance between the Workers and PostgreSQL: every chunk is held for
// DELAY_MS in each direction, so one round trip costs 2 x DELAY_MS, as to a database in another region.
// Usage: node bench/delay-proxy.js LISTEN_PORT TARGET_PORT DELAY_MS   (127.0.0.1 only)
"use strict";
const net = require("net");

const [listenPort, targetPort, delayMs] = process.argv.slice(2).map(Number);
if (!(listenPort > 0 && targetPort > 0 && delayMs >= 0)) {
    console.error("usage: delay-proxy.js LISTEN_PORT TARGET_PORT DELAY_MS");
    process.exit(2);
}

// Timers of one duration fire in the order they were set, so chunks keep their order. Half-open
// sockets: an end is forwarded (late, like the data before it) instead of cutting delayed data off.
function forward(from, to) {
    from.on("data", (chunk) => setTimeout(() => to.writable && to.write(chunk), delayMs));
    from.on("end", () => setTimeout(() => to.writable && to.end(), delayMs));
    from.on("error", () => to.destroy());
    from.on("close", () => setTimeout(() => to.destroy(), delayMs + 50));
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: "127.0.0.1", port: targetPort, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    forward(client, upstream);
    forward(upstream, client);
});
server.on("error", (e) => {
    console.error(`delay-proxy: ${e.message}`);
    process.exit(1);
});
server.listen(listenPort, "127.0.0.1", () =>
    console.log(`delay-proxy: 127.0.0.1:${listenPort} -> 127.0.0.1:${targetPort}, +${delayMs} ms each way`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
