-- The same POST every time.
--   BODY          the request body
--   CONTENT_TYPE  default application/json
--   AUTH          optional Authorization header value
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"
if os.getenv("AUTH") then wrk.headers["Authorization"] = os.getenv("AUTH") end
