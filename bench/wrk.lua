-- The request of one benchmark route for wrk, chosen by BENCH_ROUTE, and a one-line summary that
-- bench/run.sh reads: "WRK <req/s> <p50 ms> <p99 ms> <socket errors> <non-2xx answers> <requests>".
-- Writes never collide: request k of thread t gets the number BENCH_BASE + k * BENCH_THREADS + t,
-- which picks a free 10-minute slot (POST /appointments) or an unpaid appointment (POST /payments).
local route = os.getenv("BENCH_ROUTE")
local token = os.getenv("BENCH_TOKEN") or ""
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local base = tonumber(os.getenv("BENCH_BASE") or "0")
local patient = os.getenv("BENCH_PATIENT") or "1"
local query = os.getenv("BENCH_QUERY") or ""
local login = os.getenv("BENCH_LOGIN") or ""
-- Where the API is mounted: "" on the proxy itself, "/api" through the local site's nginx.
local prefix = os.getenv("BENCH_PREFIX") or ""
local counter = 0
local created = 0
-- 2200-01-01T00:00:00Z: POST /appointments books from this day on.
local epoch_2200 = 7258118400

function setup(thread)
   thread:set("tid", created)
   created = created + 1
end

local function next_number()
   counter = counter + 1
   return base + counter * threads + (tid or 0)
end

local auth = {["Authorization"] = "Bearer " .. token}
local json = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}

function request()
   if route == "patients" then
      return wrk.format("GET", prefix .. "/patients", auth)
   elseif route == "appointments" then
      return wrk.format("GET", prefix .. "/appointments?" .. query, auth)
   elseif route == "statistics" then
      return wrk.format("GET", prefix .. "/payments/statistics/summary", auth)
   elseif route == "create_appointment" then
      local n = next_number()
      local day = os.date("!%Y-%m-%d", epoch_2200 + math.floor(n / 96) * 86400)
      local minute = (n % 96) * 15
      local body = string.format(
         '{"patient_id": %s, "date": "%s", "start_time": "%02d:%02d", "end_time": "%02d:%02d", "price": 150}',
         patient, day, math.floor(minute / 60), minute % 60, math.floor((minute + 10) / 60), (minute + 10) % 60)
      return wrk.format("POST", prefix .. "/appointments", json, body)
   elseif route == "create_payment" then
      local body = string.format(
         '{"patient_id": %s, "amount": 150, "payment_method": "CASH", "appointment_ids": [%d]}',
         patient, next_number())
      return wrk.format("POST", prefix .. "/payments", json, body)
   elseif route == "login" then
      return wrk.format("POST", prefix .. "/auth/login", {["Content-Type"] = "application/x-www-form-urlencoded"}, login)
   end
   error("unknown BENCH_ROUTE " .. tostring(route))
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRK %.1f %.2f %.2f %d %d %d\n", summary.requests / (summary.duration / 1e6),
                          latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                          e.connect + e.read + e.write + e.timeout, e.status, summary.requests))
end
