-- Single-use, rotating tokens (refresh grants). Every response carries the
-- next token; it goes back into this thread's pool and a later request of
-- the thread sends it. wrk does not say which connection a response came
-- on, so tokens are pooled per thread rather than per connection: with at
-- least as many tokens as connections, each request takes a token nobody
-- else holds, and no token is ever sent twice.
--   TOKENS_FILE   one starting token per line; thread i takes lines i, i+T, ...
--   WRK_THREADS   T, the -t given to wrk
--   BODY          template; "{token}" becomes the token
--   CONTENT_TYPE  default application/json
--   AUTH          optional Authorization header value (client authentication)
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
local template = os.getenv("BODY")
local headers = { ["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json" }
if os.getenv("AUTH") then headers["Authorization"] = os.getenv("AUTH") end
local pool, first, last = {}, 1, 0
lost = 0

local function push(token) last = last + 1; pool[last] = token end
local function pop()
  if first > last then return nil end
  local token = pool[first]; pool[first] = nil; first = first + 1
  return token
end

init = function(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  local i = 0
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    if line ~= "" then
      if i % threads == tid then push(line) end
      i = i + 1
    end
  end
end

request = function()
  -- An empty pool only happens when tokens were lost to failed requests;
  -- the server then answers 401 and wrk counts an error.
  local token = pop() or "pool-exhausted"
  return wrk.format("POST", nil, headers, (template:gsub("{token}", token)))
end

response = function(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if status == 200 and token then push(token) else lost = lost + 1 end
end
