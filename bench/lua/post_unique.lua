-- A POST whose body differs every time: each "{n}" in BODY becomes a value
-- unique to this run, thread and request (for sign-ups: a new email each time).
--   BODY          template, e.g. {"email":"u{n}@example.com","password":"..."}
--   RUN_ID        makes values unique across runs against one server
--   CONTENT_TYPE  default application/json
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
local template = os.getenv("BODY")
local content_type = os.getenv("CONTENT_TYPE") or "application/json"
local run = os.getenv("RUN_ID") or tostring(os.time())
local count = 0

request = function()
  count = count + 1
  local unique = string.format("%s-%s-%d", run, tostring(tid or "x"), count)
  local body = template:gsub("{n}", unique)
  return wrk.format("POST", nil, { ["Content-Type"] = content_type }, body)
end
