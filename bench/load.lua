-- wrk script for scripts/bench. From the environment: BENCH_METHOD, BENCH_BODY (JSON or empty),
-- BENCH_STATUS (the only status counted as ok), BENCH_API_KEY (warm: one key for every request).
-- Cold: BENCH_KEY_TAG, BENCH_KEY_COUNT and BENCH_KEY_OFFSET (default 0): each request uses the
-- next key of the block scripts/bench provisioned, "carc_" .. TAG (6 characters) .. i on 37
-- digits, i from OFFSET + 1 (wrk builds one request it never sends, so the keys sent are
-- OFFSET + 2 to OFFSET + COUNT + 1), and the run stops after COUNT (keys_ran_out=1; its seconds
-- are then those until the last answer, not wrk's -d).
-- done() prints one RESULT line for the whole run, ending with its latency histogram
-- (hist=µs:count,…), from which scripts/bench pools the percentiles of several runs.
wrk.method = os.getenv("BENCH_METHOD")
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/json"
end
local key = os.getenv("BENCH_API_KEY") or ""
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end

local tag = os.getenv("BENCH_KEY_TAG") or ""
local count = tonumber(os.getenv("BENCH_KEY_COUNT") or "0")
local offset = tonumber(os.getenv("BENCH_KEY_OFFSET") or "0")

-- wrk keeps running until -d even when a thread stops, so a stopped run times itself.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local function now()
    local tv = ffi.new("bench_timeval")
    ffi.C.gettimeofday(tv, nil)
    return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
    expected = tonumber(os.getenv("BENCH_STATUS"))
    ok, unexpected, sent, stopped_after, bad_status = 0, 0, 0, 0, 0
    started = now()
end

if tag ~= "" then
    -- One connection only (scripts/bench runs cold with -c1), so keys are used in order, once each.
    function request()
        sent = sent + 1
        wrk.headers["Authorization"] = string.format("Bearer carc_%s%037d", tag, offset + sent)
        return wrk.format()
    end
end

function response(status, headers, body)
    if status == expected then
        ok = ok + 1
    else
        unexpected = unexpected + 1
        bad_status = status
    end
    if tag ~= "" and ok + unexpected >= count then
        stopped_after = now() - started
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local ok_all, unexpected_all, stopped, bad = 0, 0, 0, 0
    for _, t in ipairs(threads) do
        ok_all = ok_all + t:get("ok")
        unexpected_all = unexpected_all + t:get("unexpected")
        stopped = math.max(stopped, t:get("stopped_after"))
        bad = math.max(bad, t:get("bad_status"))
    end
    local seconds = summary.duration / 1e6
    if stopped > 0 then seconds = stopped end
    local e = summary.errors
    -- wrk keeps latencies to the microsecond: latency(i) is the i-th distinct value and its count.
    local hist = {}
    for i = 1, #latency do
        local value, n = latency(i)
        hist[#hist + 1] = string.format("%d:%d", value, n)
    end
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f ok=%d unexpected=%d connect=%d read=%d write=%d timeout=%d "
            .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d keys_ran_out=%d bad_status=%d hist=%s\n",
        summary.requests, seconds, ok_all, unexpected_all, e.connect, e.read, e.write,
        e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        stopped > 0 and 1 or 0, bad, table.concat(hist, ",")))
end
