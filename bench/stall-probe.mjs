// One client, one keep-alive connection, one request at a time for SECONDS: prints the latency
// percentiles and every answer slower than STALL_MS with its wall-clock time, so a stall can be
// matched with what the server's processes were doing then (strace -tt, /proc/PID/task/*/schedstat).
// wrk gives percentiles but not when the slow requests happened.
//
//   node bench/stall-probe.mjs PORT [SECONDS=30] [PATH=/v1/health] [STALL_MS=50]
//
// GET by default; with BENCH_BODY set, a POST of that JSON body, with BENCH_API_KEY as the bearer
// key if set (the variables bench/load.lua takes), e.g. warm uploads:
//   BENCH_API_KEY=$KEY BENCH_BODY='{"filename":"a.txt","contentType":"text/plain","size":5}' \
//       node bench/stall-probe.mjs PORT 20 /v1/uploads
import http from 'node:http';

const [port, seconds = '30', path = '/v1/health', stallMs = '50'] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '')) {
    console.error('usage: node bench/stall-probe.mjs PORT [SECONDS] [PATH] [STALL_MS]');
    process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const body = process.env.BENCH_BODY || undefined;
const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
if (process.env.BENCH_API_KEY) headers.authorization = `Bearer ${process.env.BENCH_API_KEY}`;
const latencies = [];
const stalls = [];

function once() {
    return new Promise((resolve, reject) => {
        const sentAt = Date.now();
        const start = performance.now();
        const method = body === undefined ? 'GET' : 'POST';
        const req = http.request({ host: '127.0.0.1', port: Number(port), path, agent, method, headers }, (res) => {
            const headersMs = performance.now() - start;
            res.resume();
            res.on('end', () => {
                const total = performance.now() - start;
                latencies.push(total);
                if (res.statusCode >= 400) reject(new Error(`${path} answered ${res.statusCode}`));
                if (total > Number(stallMs)) stalls.push({ at: new Date(sentAt).toISOString(), ms: total, headersMs });
                resolve();
            });
        });
        req.on('error', reject);
        req.end(body);
    });
}

const end = Date.now() + Number(seconds) * 1000;
while (Date.now() < end) await once();
agent.destroy();

latencies.sort((a, b) => a - b);
const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(2);
console.log(`${latencies.length} requests in ${seconds} s to 127.0.0.1:${port}${path}: ` +
    `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${latencies.at(-1).toFixed(1)} ms`);
const stalled = stalls.reduce((sum, s) => sum + s.ms, 0);
console.log(`${stalls.length} answers slower than ${stallMs} ms, ${Math.round(stalled)} ms in all`);
for (const s of stalls) {
    console.log(`  ${s.at}  ${s.ms.toFixed(0)} ms (headers after ${s.headersMs.toFixed(0)} ms)`);
}
