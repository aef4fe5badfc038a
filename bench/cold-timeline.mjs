// Where the wall time of requests that open a PostgreSQL connection goes, step by step, as the
// Worker's workerd process sees it: one client sends the request over and over (wrk -c1) while
// strace records the process's socket calls with timestamps; the steps of each request are cut
// at its messages (the HTTP request read, connect(2), the start-up packet, SCRAM's messages, the
// statement, its answer, the HTTP response written) and the median of each step is printed,
// marked by who was working: the Worker's process (workerd: the runtime's own socket and HTTP
// work, wrangler's local entry Worker and the Worker itself) or PostgreSQL.
//
//   node bench/cold-timeline.mjs PORT SECONDS PATH BODY KEY [STATUS=200]
//   e.g. node bench/cold-timeline.mjs 41411 6 /v1/downloads '{"key":"…"}' carc_…
//
// The requests are POSTs sent by bench/load.lua (scripts/bench's wrk script); every answer must
// have STATUS (201 for /v1/uploads).
//
// PORT is the Worker's own socket (scripts/lib.sh's worker_socket_port), so wrangler's proxy is
// not in the way. Every request must open a connection: the JavaScript reference Worker does;
// run the Rust Worker with SCOPE_CACHE_TTL_SECS=0 (e.g. `SCOPE_CACHE_TTL_SECS=0 RATE_LIMITS=off
// scripts/dev --detach`). Needs wrk and strace (root, or ptrace allowed). strace slows every
// traced call a little (it uses seccomp to stop only at the traced ones), so compare the steps
// of two Workers measured the same way, not with latencies measured without it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [port, seconds, path, body, key, status = '200'] = process.argv.slice(2);
if (!/^\d+$/.test(port ?? '') || !/^\d+$/.test(seconds ?? '') || !path || body === undefined || !key) {
    console.error('usage: node bench/cold-timeline.mjs PORT SECONDS PATH BODY KEY [STATUS]');
    process.exit(2);
}
for (const tool of ['wrk', 'strace']) {
    try {
        execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
        console.error(`${tool} is not installed (apt-get install ${tool})`);
        process.exit(2);
    }
}
const listening = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
const pid = /pid=(\d+)/.exec(listening)?.[1];
if (!pid) {
    console.error(`nothing listens on 127.0.0.1:${port}`);
    process.exit(2);
}

const trace = join(mkdtempSync(join(tmpdir(), 'cold-timeline-')), 'strace.txt');
const secs = Number(seconds);
const lua = join(dirname(fileURLToPath(import.meta.url)), 'load.lua');
const env = { ...process.env, BENCH_METHOD: 'POST', BENCH_BODY: body, BENCH_API_KEY: key, BENCH_STATUS: status,
    BENCH_CONNECTIONS: '1' };
// Load first, then trace the middle of the run (strace's attach and detach stay out of it).
const wrk = spawn('wrk', ['-t1', '-c1', `-d${secs + 3}s`, '-s', lua, `http://127.0.0.1:${port}${path}`], {
    stdio: ['ignore', 'pipe', 'inherit'], env,
});
let wrkOut = '';
wrk.stdout.on('data', (d) => (wrkOut += d));
await new Promise((r) => setTimeout(r, 1500));
// `timeout` ends strace after SECONDS (its status is then 124).
const traced = spawnSync('timeout', [String(secs), 'strace', '--seccomp-bpf', '-f', '-tt', '-p', pid,
    '-e', 'trace=connect,sendto,recvfrom,write,writev', '-o', trace], { stdio: ['ignore', 'ignore', 'pipe'] });
if (traced.status !== 124 && traced.status !== 0) {
    console.error(`strace failed: ${traced.stderr}`);
    process.exit(1);
}
const wrkStatus = await new Promise((r) => wrk.on('close', r));
const unexpected = /RESULT .*unexpected=(\d+)/.exec(wrkOut)?.[1];
if (wrkStatus !== 0 || unexpected !== '0') {
    console.error(`not every answer was ${status}; check PATH, BODY, KEY and STATUS:\n${wrkOut}`);
    process.exit(1);
}

// One event per traced call: time (ms), the call, its file descriptor and the first bytes as
// strace prints them (escaped; empty for an end of stream). Failed calls are left out.
const events = [];
for (const line of readFileSync(trace, 'utf8').split('\n')) {
    const m = /^\d+\s+(\d+):(\d+):(\d+\.\d+) (connect|sendto|recvfrom|writev|write)\((\d+), (?:\[\{iov_base=)?"?((?:[^"\\]|\\.){0,16})/.exec(line);
    if (!m || / = -1 E(?!INPROGRESS)/.test(line)) continue;
    const ms = ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000;
    events.push({ ms, call: m[4], fd: m[5], data: m[6] });
}

// The steps of a request, each ended by the first event `ends` matches on the request's HTTP
// connection (`http`) or its database connection (`db`); `who` works meanwhile.
const sent = (e) => e.call === 'sendto' || e.call === 'write' || e.call === 'writev';
const read = (e) => e.call === 'recvfrom';
const steps = [
    ['request read → connect(2)', 'Worker', 'new', (e) => e.call === 'connect'],
    ['→ start-up packet sent', 'Worker', 'db', (e) => sent(e) && e.data.startsWith('\\0\\0\\0')],
    ['→ authentication request (fork)', 'PostgreSQL', 'db', (e) => read(e) && e.data.startsWith('R')],
    ['→ SCRAM client-first sent', 'Worker', 'db', (e) => sent(e) && e.data.startsWith('p')],
    ['→ server-first', 'PostgreSQL', 'db', (e) => read(e) && e.data.startsWith('R')],
    ['→ SCRAM client-final sent', 'Worker', 'db', (e) => sent(e) && e.data.startsWith('p')],
    ['→ server-final, ready (backend start-up)', 'PostgreSQL', 'db', (e) => read(e) && e.data.startsWith('R')],
    ['→ statement sent', 'Worker', 'db', (e) => sent(e) && /^[PQB]/.test(e.data)],
    ['→ its answer (parse, plan, run)', 'PostgreSQL', 'db', (e) => read(e) && e.data !== ''],
    ['→ HTTP response written', 'Worker', 'http', (e) => sent(e) && e.data.startsWith('HTTP/1.1')],
];
const durations = steps.map(() => []);
const totals = [];
let request = null; // { start, last, step, http, db, parts }
for (const e of events) {
    if (read(e) && /^(POST|GET) /.test(e.data)) {
        request = { start: e.ms, last: e.ms, step: 0, http: e.fd, db: null, parts: [] };
        continue;
    }
    if (!request) continue;
    const [, , on, ends] = steps[request.step];
    const fd = on === 'http' ? request.http : request.db;
    if (!ends(e) || (on !== 'new' && e.fd !== fd)) continue;
    if (on === 'new') request.db = e.fd;
    request.parts.push(e.ms - request.last);
    request.last = e.ms;
    request.step += 1;
    if (request.step === steps.length) {
        request.parts.forEach((d, i) => durations[i].push(d));
        totals.push(e.ms - request.start);
        request = null;
    }
}
if (totals.length === 0) {
    console.error(`no complete request in the trace (${events.length} socket calls): does every request connect?`);
    process.exit(1);
}
const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${totals.length} requests traced; medians in ms (under strace)\n`);
console.log('| step | who | median ms |');
console.log('|---|---|---:|');
const by = { Worker: 0, PostgreSQL: 0 };
steps.forEach(([name, who], i) => {
    const m = median(durations[i]);
    by[who] += m;
    console.log(`| ${name} | ${who} | ${m.toFixed(2)} |`);
});
console.log(`| whole request (median) | | ${median(totals).toFixed(2)} |`);
console.log(`\nsum of medians: Worker's process ${by.Worker.toFixed(2)} ms, PostgreSQL ${by.PostgreSQL.toFixed(2)} ms`);
