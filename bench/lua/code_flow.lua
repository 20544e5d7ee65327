-- Whole authorization-code flows as a browser with a session and its
-- client make them: GET the authorization request with the session cookie
-- (the server answers a redirect to the client with a code: no page, the
-- client needs no consent), then POST the code to the token endpoint.
-- Codes are pooled per thread: a response's code goes into the pool and a
-- later request of the thread redeems it, so each connection alternates as
-- the codes come back. One flow is one code redeemed (a 200 with an access
-- token); the BENCH line counts flows, not HTTP requests (two per flow),
-- and its latencies are those of the single requests.
--   AUTHORIZE     the authorization request's path and query (with the PKCE challenge)
--   COOKIE        the browser session's Cookie header
--   TOKEN_PATH    the token endpoint's path
--   REDIRECT_URI  the client's redirect URI (form-encoded)
--   VERIFIER      the PKCE verifier of the challenge in AUTHORIZE
--   AUTH          the client's Authorization header (client_secret_basic)
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
local authorize = os.getenv("AUTHORIZE")
local token_path = os.getenv("TOKEN_PATH")
local redeem = "grant_type=authorization_code&redirect_uri=" .. os.getenv("REDIRECT_URI")
  .. "&code_verifier=" .. os.getenv("VERIFIER") .. "&code="
local browser = { ["Cookie"] = os.getenv("COOKIE") }
local client = { ["Authorization"] = os.getenv("AUTH"), ["Content-Type"] = "application/x-www-form-urlencoded" }
local codes, first, last = {}, 1, 0
flows, failed = 0, 0

request = function()
  if first <= last then
    local code = codes[first]
    codes[first] = nil
    first = first + 1
    return wrk.format("POST", token_path, client, redeem .. code)
  end
  return wrk.format("GET", authorize, browser)
end

response = function(status, headers, body)
  local location = headers["location"] or headers["Location"]
  if location then
    local code = location:match("[?&]code=([^&#]+)")
    if code and status >= 300 and status < 400 then
      last = last + 1
      codes[last] = code
    else
      failed = failed + 1
    end
  elseif status == 200 and body:find('"access_token"', 1, true) then
    flows = flows + 1
  else
    failed = failed + 1
  end
end

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local n, bad = 0, 0
  for _, t in ipairs(threads) do
    n = n + t:get("flows")
    bad = bad + t:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d timeouts=%d socket_errors=%d\n",
    n, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, e.timeout, e.connect + e.read + e.write))
end
