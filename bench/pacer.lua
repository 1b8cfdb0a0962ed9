-- An open-loop pacer for wrk: GET /patients at BENCH_RATE requests a second in total, either evenly spaced
-- (BENCH_BURST 1) or in bursts of BENCH_BURST requests released together (a page of the SPA loading, or hey
-- -c 16 -q 60), whatever the answers' latency; wrk's latency is then the service time at that offered rate.
-- Use one wrk thread (-t1) and more connections than the requests in flight (-c 32): a request whose slot
-- comes while every connection is busy goes out late, and is counted ("late"). Prints one line for
-- bench/run.sh: "PACE <req/s achieved> <p50 ms> <p99 ms> <p99.9 ms> <errors> <non-2xx> <late requests>".
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } ta_timespec;
int clock_gettime(int clk_id, ta_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("ta_timespec")
local function now_ms()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
   return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local rate = tonumber(os.getenv("BENCH_RATE") or "1000")
local burst = tonumber(os.getenv("BENCH_BURST") or "1")
local token = os.getenv("BENCH_TOKEN") or ""
local prefix = os.getenv("BENCH_PREFIX") or ""
local period = 1000 * burst / rate   -- ms between the starts of two bursts
local sent = 0                       -- slots handed out by this thread
local start = nil
late = 0

local threads = {}
function setup(thread)
   table.insert(threads, thread)
end

local req = nil
function init(args)
   req = wrk.format("GET", prefix .. "/patients", {["Authorization"] = "Bearer " .. token})
end

function request()
   return req
end

-- Called before each request of each connection: the milliseconds until the next free slot.
function delay()
   local now = now_ms()
   if start == nil then start = now end
   local slot = start + math.floor(sent / burst) * period
   sent = sent + 1
   local wait = slot - now
   if wait < -1 then late = late + 1 end
   if wait < 0 then return 0 end
   return math.floor(wait + 0.5)
end

function done(summary, latency, requests)
   local e = summary.errors
   local n = 0
   for _, t in ipairs(threads) do n = n + (t:get("late") or 0) end
   io.write(string.format("PACE %.1f %.2f %.2f %.2f %d %d %d\n", summary.requests / (summary.duration / 1e6),
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          latency:percentile(99.9) / 1000, e.connect + e.read + e.write + e.timeout, e.status, n))
end
