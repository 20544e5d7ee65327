-- GET with "Authorization: Bearer $TOKEN".
dofile(os.getenv("BENCH_LUA") .. "/summary.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
