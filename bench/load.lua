-- wrk script for scripts/bench. From the environment: BENCH_METHOD, BENCH_BODY (JSON or empty),
-- BENCH_STATUS (the only status counted as ok), BENCH_API_KEY (warm: one key for every request).
-- Cold: BENCH_KEY_TAG, BENCH_KEY_COUNT and BENCH_KEY_OFFSET (default 0): each request uses the
-- next key of the block scripts/bench provisioned, "carc_" .. TAG (6 characters) .. i on 37
-- digits, i from OFFSET + 1 (wrk builds one request it never sends, so the keys sent are
-- OFFSET + 2 to OFFSET + COUNT + 1), and the run stops after COUNT (keys_ran_out=1; its seconds
-- are then those until the last answer, not wrk's -d).
-- BENCH_CONNECTIONS: wrk's -c, which done() needs to undo wrk's latency correction (below).
-- done() prints one RESULT line for the whole run, ending with its latency histograms
-- (hist=µs:count,… as wrk keeps it, req_hist= of the requests as sent), from which scripts/bench
-- pools the percentiles of several runs.
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

local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "")
if not connections then error("bench/load.lua: BENCH_CONNECTIONS (wrk's -c) is not set") end

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

-- Before done() sees it, wrk corrects its latency histogram for coordinated omission
-- (stats_correct in wrk's src/stats.c): with E the run's time divided by the requests per
-- connection, every latency L >= 2E also counts as L - E, L - 2E, ... down to above E, the
-- waits the requests a client sending every E would have had. A stall thus counts once per
-- request the Worker would have answered meanwhile: far more often for a fast Worker than a slow
-- one. The requests as sent are recovered exactly: the correction only adds below each value,
-- so going down from the largest, each value's own count is its count less what larger values
-- added to it. Returns {µs = count} and the values in ascending order.
local function as_sent(latency, requests, duration_us)
    local counts, values = {}, {}
    for i = 1, #latency do
        local value, n = latency(i)
        counts[value] = n
        values[#values + 1] = value
    end
    local per_connection = math.floor(requests / connections)
    if per_connection == 0 then return counts, values end
    local e = math.floor(duration_us / per_connection)
    if e < 1 then return counts, values end
    local added = {}
    for i = #values, 1, -1 do
        local value = values[i]
        local own = counts[value] - (added[value] or 0)
        counts[value] = own
        if own > 0 and value >= 2 * e then
            local m = value - e
            while m > e do
                added[m] = (added[m] or 0) + own
                m = m - e
            end
        end
    end
    return counts, values
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
    local counts, values = as_sent(latency, summary.requests, summary.duration)
    local sent, samples = {}, 0
    for _, value in ipairs(values) do
        if counts[value] > 0 then
            sent[#sent + 1] = string.format("%d:%d", value, counts[value])
            samples = samples + counts[value]
        end
    end
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f ok=%d unexpected=%d connect=%d read=%d write=%d timeout=%d "
            .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d keys_ran_out=%d bad_status=%d req_samples=%d "
            .. "hist=%s req_hist=%s\n",
        summary.requests, seconds, ok_all, unexpected_all, e.connect, e.read, e.write,
        e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
        stopped > 0 and 1 or 0, bad, samples, table.concat(hist, ","), table.concat(sent, ",")))
end
