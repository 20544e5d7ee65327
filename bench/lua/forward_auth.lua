-- GET /v1/authz/check as a gateway asks it: the user's bearer token and the
-- forwarded target (HOST, URI; defaults app.bench.example and /docs).
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["X-Forwarded-Method"] = "GET"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["X-Forwarded-Host"] = os.getenv("HOST") or "app.bench.example"
wrk.headers["X-Forwarded-Uri"] = os.getenv("URI") or "/docs"
