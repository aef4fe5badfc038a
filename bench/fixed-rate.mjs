// Open-loop load at a fixed rate over one keep-alive connection: request i is due at
// start + i / RATE and is sent then, or when the answer before it arrives if that is later.
// Latency is counted from when the request was due, so a pause delays, and counts against, every
// request that falls due during it, at the same rate for whichever Worker is measured (wrk's own
// correction instead uses each run's measured rate, which makes one pause weigh more on a faster
// Worker). Also prints the latency of the requests as sent.
//
//   BENCH_API_KEY=carc_… [BENCH_BODY='{"filename":"a.txt"}'] \
//       node bench/fixed-rate.mjs PORT RATE SECONDS [PATH=/v1/uploads] [STATUS=201]
//
// With BENCH_BODY set (default for /v1/uploads: a small upload), the request is a POST.
import http from 'node:http';

const [port, rate, seconds, path = '/v1/uploads', status = '201'] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '') || !(Number(rate) > 0) || !(Number(seconds) > 0)) {
    console.error('usage: BENCH_API_KEY=… node bench/fixed-rate.mjs PORT RATE SECONDS [PATH] [STATUS]');
    process.exit(2);
}
const key = process.env.BENCH_API_KEY ?? '';
const body = process.env.BENCH_BODY ??
    (path === '/v1/uploads' ? '{"filename":"bench.txt","contentType":"text/plain","size":5}' : '');
const headers = {};
if (key) headers.authorization = `Bearer ${key}`;
if (body) headers['content-type'] = 'application/json';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send() {
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host: '127.0.0.1', port: Number(port), path, method: body ? 'POST' : 'GET', headers, agent },
            (res) => {
                res.resume();
                res.on('end', () => resolve(res.statusCode));
            },
        );
        req.on('error', reject);
        req.end(body);
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const interval = 1000 / Number(rate);
const total = Math.floor(Number(seconds) * Number(rate));
const fromDue = [];
const asSent = [];
let wrong = 0;
const start = performance.now();
for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    // setTimeout wakes up to a millisecond late; spin the last stretch so requests leave on time.
    if (due - performance.now() > 2) await sleep(due - performance.now() - 1.5);
    while (performance.now() < due);
    const sent = performance.now();
    const code = await send();
    const done = performance.now();
    if (String(code) !== status) wrong++;
    fromDue.push(done - due);
    asSent.push(done - sent);
}
const elapsed = (performance.now() - start) / 1000;
agent.destroy();

fromDue.sort((a, b) => a - b);
asSent.sort((a, b) => a - b);
const at = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(2);
const summary = (xs) =>
    `p50 ${at(xs, 0.5)} p90 ${at(xs, 0.9)} p99 ${at(xs, 0.99)} p99.9 ${at(xs, 0.999)} max ${xs.at(-1).toFixed(1)} ms`;
console.log(`${total} requests due at ${rate}/s to 127.0.0.1:${port}${path} over ${elapsed.toFixed(1)} s` +
    (wrong ? `; ${wrong} answered other than ${status}` : `; all answered ${status}`));
console.log(`  from due:  ${summary(fromDue)}`);
console.log(`  as sent:   ${summary(asSent)}`);
// For scripts/bench.
console.log(`RESULT requests=${total} wrong=${wrong} due_p50_ms=${at(fromDue, 0.5)} due_p99_ms=${at(fromDue, 0.99)} ` +
    `due_max_ms=${fromDue.at(-1).toFixed(2)} sent_p50_ms=${at(asSent, 0.5)} sent_p99_ms=${at(asSent, 0.99)}`);
if (wrong) process.exit(1);
