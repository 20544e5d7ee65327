#!/usr/bin/env python3
"""Helpers of bench/run.sh, standard library only.

    tools.py spawn-ready URL LOG -- CMD...    start CMD (output to LOG), poll URL until 200;
                                              print "PID READY_MS" and leave it running
    tools.py request METHOD URL [--json B | --form B] [--auth H] [--header NAME | --field NAME]
                                              one request; prints the header or JSON field asked for
    tools.py latchkey-tokens BASE EMAIL PASSWORD N
                                              N logins; prints "access refresh" per line
    tools.py latchkey-cookie BASE EMAIL PASSWORD
                                              a cookie-mode login; prints the session's Cookie header
    tools.py oauth-tokens BASE AUTHORIZE COOKIE TOKEN_PATH AUTH REDIRECT VERIFIER N
                                              N authorization-code flows with that browser session;
                                              prints "access refresh" per line
    tools.py login-timing BASE EMAIL PASSWORD N
                                              N unknown-user and N wrong-password logins, interleaved,
                                              one at a time; prints a JSON object
    tools.py magic-link-timing BASE EMAIL N   the same for N sign-in links asked for EMAIL and for
                                              an unknown address
    tools.py report RESULTS_JSONL OUT_DIR      
                                              writes results.md and results.svg
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse


def connection(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=30), parts


def spawn_ready(url, log, cmd):
    out = open(log, "ab")
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    parts = urllib.parse.urlsplit(url)
    deadline = started + 60
    while time.perf_counter() < deadline:
        if child.poll() is not None:
            sys.exit(f"{cmd[0]} exited with status {child.returncode} before it was ready; see {log}")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=1)
            conn.request("GET", parts.path)
            if conn.getresponse().status == 200:
                elapsed = (time.perf_counter() - started) * 1000
                print(f"{child.pid} {elapsed:.1f}")
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.001)
    sys.exit(f"{cmd[0]} was not ready within 60 s; see {log}")


def request(method, url, body=None, content_type=None, auth=None):
    conn, parts = connection(url)
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if auth:
        headers["Authorization"] = auth
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 400:
        sys.exit(f"{method} {url}: {response.status} {data[:300]!r}")
    return response, data


def cmd_request(args):
    method, url, rest = args[0], args[1], args[2:]
    body = content_type = auth = header = field = None
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--json":
            body, content_type = value, "application/json"
        elif flag == "--form":
            body, content_type = value, "application/x-www-form-urlencoded"
        elif flag == "--auth":
            auth = value
        elif flag == "--header":
            header = value
        elif flag == "--field":
            field = value
        else:
            sys.exit(f"unknown option {flag}")
    response, data = request(method, url, body, content_type, auth)
    if header:
        value = response.getheader(header)
        if not value:
            sys.exit(f"{method} {url}: no {header} header")
        print(value)
    elif field:
        print(json.loads(data)[field])


def latchkey_tokens(base, email, password, n):
    body = json.dumps({"identifier": email, "password": password})
    for _ in range(n):
        _, data = request("POST", base + "/v1/auth/login", body, "application/json")
        tokens = json.loads(data)
        print(tokens["access_token"], tokens["refresh_token"])


def latchkey_cookie(base, email, password):
    conn, _ = connection(base)
    body = json.dumps({"identifier": email, "password": password, "mode": "cookie"})
    conn.request("POST", "/v1/auth/login", body=body,
                 headers={"Content-Type": "application/json", "Origin": base})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        sys.exit(f"cookie login: {response.status} {data[:300]!r}")
    for name, value in response.getheaders():
        pair = value.split(";")[0]
        if name.lower() == "set-cookie" and "latchkey_session=" in pair:
            print(pair)
            return
    sys.exit("cookie login: no session cookie")


def oauth_tokens(base, authorize, cookie, token_path, auth, redirect, verifier, n):
    """N code flows as code_flow.lua makes them, one at a time."""
    conn, _ = connection(base)
    for _ in range(n):
        conn.request("GET", authorize, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        location = response.getheader("location") or ""
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if response.status not in (302, 303) or not code:
            sys.exit(f"authorize: {response.status} {location!r}")
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code[0],
                                       "redirect_uri": redirect, "code_verifier": verifier})
        conn.request("POST", token_path, body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth})
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            sys.exit(f"token: {response.status} {data[:300]!r}")
        tokens = json.loads(data)
        print(tokens["access_token"], tokens["refresh_token"])


def login_timing(base, email, password, n):
    """Unknown user and wrong password at the login."""
    unknown = json.dumps({"identifier": "nobody-" + email, "password": password})
    wrong = json.dumps({"identifier": email, "password": password + "-wrong"})
    answer_timing(base, "/v1/auth/login", {"unknown": unknown, "wrong": wrong}, n)


def magic_link_timing(base, email, n):
    """A sign-in link asked for a known and for an unknown address."""
    known = json.dumps({"email": email})
    unknown = json.dumps({"email": "nobody-" + email})
    answer_timing(base, "/v1/auth/magic-link", {"unknown": unknown, "known": known}, n)


def answer_timing(base, path, bodies, n):
    """Two kinds of request (BODIES: kind -> JSON body), alternating, one
    request at a time on one keep-alive connection, after a warm-up: the two
    medians, their difference (first kind minus second), and whether status
    and body (less the request id) match."""
    conn, parts = connection(base)
    (first, first_body), (second, second_body) = bodies.items()
    answers = {first: set(), second: set()}
    times = {first: [], second: []}

    def once(body):
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        problem = json.loads(data) if data else {}
        problem.pop("request_id", None)
        problem.pop("trace_id", None)
        return elapsed, (response.status, json.dumps(problem, sort_keys=True))

    for i in range(20):
        once(first_body if i % 2 else second_body)
    for i in range(2 * n):
        kind, body = (first, first_body) if i % 2 == 0 else (second, second_body)
        elapsed, answer = once(body)
        times[kind].append(elapsed)
        answers[kind].add(answer)
    result = {
        "n": n,
        "path": path,
        "kinds": [first, second],
        f"{first}_p50_ms": statistics.median(times[first]),
        f"{second}_p50_ms": statistics.median(times[second]),
        "statuses": sorted({a[0] for k in answers for a in answers[k]}),
        "same_answer": len(answers[first] | answers[second]) == 1,
        "answer": next(iter(answers[first]))[1] if answers[first] else None,
    }
    result["difference_ms"] = result[f"{first}_p50_ms"] - result[f"{second}_p50_ms"]
    print(json.dumps(result))


# ---------------------------------------------------------------- report

TARGETS = [
    # (what, how to find it, comparison, target, unit)
    ("login throughput, share of the hash-bound limit (alternating slices)", "login_share_rps", ">=", 90, "%"),
    ("login, share of its CPU spent hashing", "login_share_cpu", ">=", 90, "%"),
    ("refresh on SQLite", "refresh_rps", ">=", 8000, "req/s"),
    ("token check (introspection)", "introspect_rps", ">=", 30000, "req/s"),
    ("token check (GET /v1/account)", "account_rps", ">=", 30000, "req/s"),
    ("idle memory (RSS after start)", "idle_rss_mib", "<=", 20, "MiB"),
    ("ready after start", "ready_ms", "<=", 100, "ms"),
    ("peak memory under 64 concurrent logins", "login64_hwm_mib", "<=", 200, "MiB"),
    ("unknown user vs wrong password, difference of medians (absolute)", "timing_diff_ms", "<=", 5, "ms"),
    ("forward-auth check (signed in)", "forward_rps", ">=", 20000, "req/s"),
    ("latchkey-verify, cached check (EdDSA, no server)", "verify_cached_us", "<=", 5, "µs"),
    ("OAuth client_credentials grants", "cc_rps", ">=", 20000, "req/s"),
]

# The OAuth rows, compared with oidc-provider in the same run (issue 16:
# at least 5 times its throughput on each).
OAUTH_WORKLOADS = ["oauth: client_credentials grant", "oauth: code flow (authorize + token)",
                   "oauth: refresh grant", "oauth: userinfo"]
OAUTH_PEER = "oidc-provider"
OAUTH_RATIO = 5

WORKLOAD_ORDER = ["register", "login", "login (equal hash cost)", "login, 64 connections",
                  "token check: introspection", "token check: GET /v1/account",
                  "session check: get-session", "token check: /users/me", "refresh",
                  "forward-auth check (signed in)", "forward-auth check (403, missing role)"] + OAUTH_WORKLOADS


def fmt(value, digits=1):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.{max(digits, 2)}f}"


def lookup(rows, system, workload):
    for r in rows:
        if r["system"] == system and r["workload"] == workload:
            return r
    return None


def figures(rows, meta):
    """The numbers the targets are about, from latchkey on SQLite."""
    sq = "latchkey (SQLite)"
    hl = meta.get("hash_limit", {})
    login = lookup(rows, sq, "login") or {}
    out = {}
    share = meta.get("login_share", {}).get(sq)
    if share:
        out["login_share_rps"] = share["share"]
    elif login.get("rps") and hl.get("hashes_per_sec"):
        out["login_share_rps"] = 100 * login["rps"] / hl["hashes_per_sec"]
    # Hashing's share of a login's CPU: the hashing threads' CPU against the
    # whole process's, in the same window; without that split, the hash cost
    # measured apart (which moves with the load) against the login's.
    hashing = (login.get("threads") or {}).get("latchkey-hash")
    if login.get("cpu_ms") and hashing:
        out["login_share_cpu"] = 100 * hashing / login["cpu_ms"]
    elif login.get("cpu_ms") and hl.get("cpu_ms_per_hash"):
        out["login_share_cpu"] = 100 * hl["cpu_ms_per_hash"] / login["cpu_ms"]
    cores = meta.get("machine", {}).get("nproc", 1)
    for key, workload in [("refresh_rps", "refresh"), ("introspect_rps", "token check: introspection"),
                          ("account_rps", "token check: GET /v1/account"), ("login_rps", "login"),
                          ("forward_rps", "forward-auth check (signed in)"),
                          ("cc_rps", "oauth: client_credentials grant")]:
        r = lookup(rows, sq, workload)
        if r:
            out[key] = r["rps"]
            # What the server's CPU per request allows with every core to
            # itself (no load generator, nothing else running).
            out[key + "_cpu_bound"] = cores * 1000 / r["cpu_ms"] if r["cpu_ms"] else None
    lk = meta.get("latchkey", {}).get(sq, {})
    out["idle_rss_mib"] = lk.get("idle_rss_mib")
    out["ready_ms"] = lk.get("ready_ms")
    r = lookup(rows, sq, "login, 64 connections")
    if r:
        out["login64_hwm_mib"] = r["hwm_mib"]
    t = lk.get("timing")
    if t:
        out["timing_diff_ms"] = abs(t["difference_ms"])
    eddsa = meta.get("verify_check", {}).get("EdDSA")
    if eddsa:
        out["verify_cached_us"] = eddsa["cached_us"]
    return out


def oauth_section(rows, meta):
    """The OAuth provider's rows against oidc-provider's, in one run."""
    systems = [s for s in meta.get("latchkey", {}) if any(lookup(rows, s, w) for w in OAUTH_WORKLOADS)]
    if not systems:
        return []
    cores = meta.get("machine", {}).get("nproc", 1)
    lines = [
        "## The OAuth provider against node oidc-provider",
        "",
        f"The same four workloads at latchkey and at oidc-provider, one after the other in this run (16 connections). "
        f"Wanted: at least {OAUTH_RATIO}x oidc-provider on every row, and 20,000 client-credentials grants/s. "
        "A code flow is a GET of the authorization request with the browser's session cookie (the answer: a "
        "redirect with a code, no page) and the POST of that code to the token endpoint, counted once: "
        "its req/s are flows/s and its CPU is per flow (its latencies are of the single requests). "
        "\"x\" columns: latchkey's throughput over oidc-provider's, and oidc-provider's CPU per request over "
        "latchkey's (the figure the load on the shared cores does not move).",
        "",
        "| workload | system | req/s | server CPU ms/req | with the cores alone, req/s | x throughput | x CPU | met (>= 5x) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for w in OAUTH_WORKLOADS:
        peer = lookup(rows, OAUTH_PEER, w)
        for s in systems + [OAUTH_PEER]:
            r = lookup(rows, s, w)
            if not r:
                continue
            alone = cores * 1000 / r["cpu_ms"] if r["cpu_ms"] else None
            if s != OAUTH_PEER and peer and peer["rps"] and r["cpu_ms"]:
                x_rps, x_cpu = r["rps"] / peer["rps"], peer["cpu_ms"] / r["cpu_ms"]
                met = "yes" if x_rps >= OAUTH_RATIO else "**no**"
                if w == OAUTH_WORKLOADS[0] and r["rps"] < 20000:
                    met += " (**< 20,000/s**)"
                ratios = f"{x_rps:.1f}x | {x_cpu:.1f}x | {met}"
            else:
                ratios = "| |"
            lines.append(f"| {w} | {s} | {fmt(r['rps'])} | **{fmt(r['cpu_ms'], 3)}** | {fmt(alone)} | {ratios} |")
    return lines + [""]


def verify_section(meta):
    checks = meta.get("verify_check", {})
    if not checks:
        return []
    lines = [
        "## latchkey-verify: one token check in a resource server",
        "",
        "The `cached_check` example of `crates/verify` (no server, one core): the first check of a token "
        "verifies its signature, a repeated one is answered from the verifier's cache.",
        "",
        "| algorithm | first check µs | cached check µs | cached checks/s on one core | load |",
        "|---|---|---|---|---|",
    ]
    for alg, c in checks.items():
        lines.append(f"| {alg} | {fmt(c['first_us'])} | {fmt(c['cached_us'])} | {fmt(c['checks_per_sec'])} | {c['load']} |")
    return lines + [""]


def load(results_path):
    """The run's records, one JSON object a line, each with a "kind"."""
    rows, meta = [], {"versions": {}, "latchkey": {}, "notes": [], "machine": {}, "hash_limit": {},
                      "peer_hash": [], "login_share": {}, "verify_check": {}}
    for line in open(results_path):
        if not line.strip():
            continue
        record = json.loads(line)
        kind = record.pop("kind")
        if kind == "workload":
            rows.append(record)
        elif kind == "run":
            meta.update(record)
        elif kind == "machine":
            meta["machine"] = record
        elif kind == "version":
            meta["versions"][record["name"]] = record["version"]
        elif kind == "hash_limit":
            meta["hash_limit"] = record
        elif kind == "latchkey":
            meta["latchkey"][record["name"]] = record
        elif kind == "login_share":
            meta["login_share"][record["system"]] = record
        elif kind == "verify_check":
            meta["verify_check"][record["alg"]] = record
        elif kind == "peer_hash":
            meta["peer_hash"].append(record)
        elif kind == "note":
            meta["notes"].append(record["text"])
    return rows, meta


def report(results_path, out_dir):
    rows, meta = load(results_path)
    systems = []
    for r in rows:
        if r["system"] not in systems:
            systems.append(r["system"])
    order = {w: i for i, w in enumerate(WORKLOAD_ORDER)}
    rows_sorted = sorted(rows, key=lambda r: (order.get(r["workload"], 99), systems.index(r["system"])))
    fig = figures(rows, meta)
    m = meta["machine"]
    lines = [
        "# latchkey side by side with its peers",
        "",
        f"Run of {meta['date']} by `bench/run.sh` ({meta['duration']} per workload after a "
        f"{meta['warmup']} warm-up; wrk {meta['versions'].get('wrk', '?')}, {meta['threads']} threads, on loopback).",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_gib']} GiB memory, {m['kernel']}; "
        f"load average at the start: {m['load_start']}. The cores are shared with other work, so "
        "**server CPU per request** is the figure to compare; requests per second move with the load.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
        "",
        "## Targets (latchkey on SQLite)",
        "",
        f"| target | measured | wanted | met | at this CPU per request, with the {m.get('nproc', '?')} cores alone |",
        "|---|---|---|---|---|",
    ]
    for what, key, op, target, unit in TARGETS:
        value = fig.get(key)
        if value is None:
            continue  # not measured in this run (BENCH_LATCHKEY_WORKLOADS chose other groups)
        met = "—" if value is None else ("yes" if (value >= target if op == ">=" else value <= target) else "**no**")
        alone = fig.get(key + "_cpu_bound")
        alone = f"{fmt(alone)} {unit}" if alone else ""
        lines.append(f"| {what} | {fmt(value)} {unit if value is not None else ''} | {op} {target:,} {unit} | {met} | {alone} |")
    hl = meta.get("hash_limit", {})
    lines += [""]
    if hl:
        lines += [
            f"Hash-bound limit, measured in this run without a server (just before latchkey's first login workload, "
            f"load {hl.get('load', '?')}): argon2id m={hl.get('m_kib')} KiB, "
            f"t={hl.get('t')}, p={hl.get('p')} on {hl.get('workers')} workers: "
            f"**{fmt(hl.get('hashes_per_sec'))} hashes/s**, {fmt(hl.get('cpu_ms_per_hash'))} ms CPU per hash "
            f"({fmt(m.get('nproc', 1) * 1000 / hl['cpu_ms_per_hash']) if hl.get('cpu_ms_per_hash') else '—'} hashes/s "
            f"with the cores alone; latchkey's login at its CPU per request: "
            f"{fmt(fig.get('login_rps_cpu_bound'))} req/s).",
            "",
            "The throughput share in the targets comes from five alternating slices of 2 s (the pool hashing "
            "without a server, then logins with 8 connections), so both see the same load: "
            + "; ".join(f"{name}: {fmt(v['logins_per_sec'])} logins/s against {fmt(v['hashes_per_sec'])} hashes/s, "
                        f"{v['share']:.0f} %" for name, v in meta.get("login_share", {}).items())
            + ". The CPU share compares CPU per login with CPU per hash and does not depend on the load.",
            "",
        ]
    for name, lk in meta.get("latchkey", {}).items():
        t = lk.get("timing") or {}
        lines.append(
            f"- {name}: ready {fmt(lk.get('ready_ms'))} ms after the process started (median of five restarts on "
            f"an existing database; first start with migrations {fmt(lk.get('first_ready_ms'))} ms; its own log says "
            f"`ready_ms` {fmt(lk.get('log_ready_ms'))}); RSS idle after start {fmt(lk.get('idle_rss_mib'))} MiB, "
            f"idle after the workloads {fmt(lk.get('idle_after_rss_mib'))} MiB."
        )
        if t:
            lines.append(
                f"  Unknown user vs wrong password ({t['n']} each, interleaved, sequential): median "
                f"{t['unknown_p50_ms']:.2f} ms vs {t['wrong_p50_ms']:.2f} ms, difference {t['difference_ms']:+.2f} ms; "
                f"status {', '.join(map(str, t['statuses']))}; bodies identical apart from `request_id` and `trace_id`: "
                f"{'yes' if t['same_answer'] else '**no**'}."
            )
        ml = lk.get("magic_link_timing")
        if ml:
            lines.append(
                f"  Sign-in link asked for an unknown vs a known address ({ml['n']} each, interleaved, sequential; "
                f"`POST /v1/auth/magic-link`): median {ml['unknown_p50_ms']:.2f} ms vs {ml['known_p50_ms']:.2f} ms, "
                f"difference {ml['difference_ms']:+.2f} ms; status {', '.join(map(str, ml['statuses']))}; "
                f"bodies identical: {'yes' if ml['same_answer'] else '**no**'}."
            )
    lines += [""] + oauth_section(rows, meta) + verify_section(meta)
    hashing_lines = [
        "## Password hashing inside a login",
        "",
        "CPU of one password verification against the CPU of one login; the rest of a login is the server's own "
        "work: parsing, the account lookup, the session, the tokens. For latchkey the hash is the CPU of its hashing "
        "threads during the login workload itself; for the peers, one verification at a time without a server.",
        "",
        "| system | hash | CPU ms per hash | login CPU ms/req | hashing's share |",
        "|---|---|---|---|---|",
    ]
    hashes = []
    what = f"argon2id m={hl.get('m_kib')} KiB, t={hl.get('t')}, p={hl.get('p')}"
    for name in meta.get("latchkey", {}):
        login = lookup(rows, name, "login") or {}
        hashing = (login.get("threads") or {}).get("latchkey-hash") or hl.get("cpu_ms_per_hash")
        if hashing:
            hashes.append((name, what, hashing, "login"))
    for h in meta["peer_hash"]:
        workload = "login (equal hash cost)" if "latchkey's" in h["what"] else "login"
        hashes.append((h["system"], h["what"], h["cpu_ms_per_hash"], workload))
    for system, what, cost, workload in hashes:
        login = lookup(rows, system, workload)
        login_cpu = login["cpu_ms"] if login else None
        share = f"{100 * cost / login_cpu:.0f} %" if login_cpu else "—"
        hashing_lines.append(f"| {system} | {what} | {fmt(cost)} | {fmt(login_cpu)} | {share} |")
    if hashes:
        lines += hashing_lines + [""]
    lines += [
        "## All workloads",
        "",
        "| workload | system | req/s | p50 ms | p99 ms | server CPU ms/req | DB CPU ms/req | peak RSS MiB | errors | conns | load at start |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows_sorted:
        lines.append(
            f"| {r['workload']} | {r['system']} | {fmt(r['rps'])} | {fmt(r['p50_ms'])} | {fmt(r['p99_ms'])} | "
            f"**{fmt(r['cpu_ms'], 3)}** | {fmt(r.get('db_cpu_ms'), 3)} | {fmt(r['hwm_mib'])} | "
            f"{r['errors']} | {r['conns']} | {r['load']} |"
        )
    lines += [
        "",
        "## Where the server CPU goes",
        "",
        "Server CPU per request by thread (names without their number); the three largest groups. "
        "For latchkey: `tokio-rt-worker` is HTTP, JSON, signing and verifying tokens and logging; "
        "`latchkey-sqlite` the store's threads; `latchkey-hash` the password hashing pool. Threads that "
        "ended during the workload (fastapi-users' argon2 lanes, for one) count in the total only.",
        "",
        "| workload | system | CPU ms/req by thread |",
        "|---|---|---|",
    ]
    for r in rows_sorted:
        groups = r.get("threads") or {}
        top = sorted(groups.items(), key=lambda kv: -kv[1])[:3]
        if top:
            shown = ", ".join(f"{escape(k)} {fmt(v, 3)}" for k, v in top)
            lines.append(f"| {r['workload']} | {r['system']} | {shown} |")
    lines += ["", "## Notes", ""] + [f"- {n}" for n in meta.get("notes", [])] + [""]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(out_dir, "results.svg"), "w") as f:
        f.write(chart(rows_sorted, systems, meta))


COLORS = ["#1f6feb", "#54aeff", "#d4a72c", "#bf3989", "#2da44e", "#8250df"]


def chart(rows, systems, meta):
    """Two panels of horizontal bars on log scales: server CPU per request
    (shorter is better) and throughput (longer is better), one group per
    workload, one colour per system."""
    import math

    color = {s: COLORS[i % len(COLORS)] for i, s in enumerate(systems)}
    groups = []
    for r in rows:
        if not groups or groups[-1][0] != r["workload"]:
            groups.append((r["workload"], []))
        groups[-1][1].append(r)
    bar, gap, label_w, panel_w = 14, 12, 250, 330
    height = 70 + sum(len(g[1]) * bar + gap for g in groups) + 30 + 20 * len(systems)
    width = label_w + 2 * panel_w + 100
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">latchkey and peers, {meta["date"]} '
           f'({meta["machine"]["nproc"]} cores, {meta["machine"]["cpu"]})</text>']
    panels = [("server CPU per request, ms (log; shorter is better)", "cpu_ms", 0.01, 1000),
              ("requests per second (log; longer is better)", "rps", 1, 100000)]
    for p, (title, key, lo, hi) in enumerate(panels):
        x0 = label_w + p * (panel_w + 50)
        out.append(f'<text x="{x0}" y="40" font-weight="bold">{title}</text>')
        decades = int(round(math.log10(hi / lo)))
        for d in range(decades + 1):
            x = x0 + panel_w * d / decades
            v = lo * 10 ** d
            out.append(f'<line x1="{x:.1f}" y1="48" x2="{x:.1f}" y2="{height - 30 - 20 * len(systems)}" stroke="#ddd"/>')
            out.append(f'<text x="{x:.1f}" y="58" text-anchor="middle" fill="#666">{v:g}</text>')
    y = 66
    for workload, group in groups:
        out.append(f'<text x="10" y="{y + bar * len(group) / 2 + 4:.1f}">{escape(workload)}</text>')
        for r in group:
            for p, (title, key, lo, hi) in enumerate(panels):
                x0 = label_w + p * (panel_w + 50)
                v = r.get(key)
                digits = 3 if key == "cpu_ms" else 1
                if not v:
                    continue
                w = panel_w * max(0.0, min(1.0, math.log10(max(v, lo) / lo) / math.log10(hi / lo)))
                out.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar - 2}" fill="{color[r["system"]]}">'
                           f'<title>{escape(r["system"])}: {fmt(v, digits)}</title></rect>')
                out.append(f'<text x="{x0 + w + 3:.1f}" y="{y + bar - 4}" fill="#333">{fmt(v, digits)}</text>')
            y += bar
        y += gap
    y += 10
    with_db = {r["system"] for r in rows if r.get("db_cpu_ms") is not None}
    for s in systems:
        label = s + (" (server CPU without its database's)" if s in with_db else "")
        out.append(f'<rect x="10" y="{y}" width="12" height="12" fill="{color[s]}"/>'
                   f'<text x="28" y="{y + 10}">{escape(label)}</text>')
        y += 20
    out.append("</svg>")
    return "\n".join(out) + "\n"


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def threads(before_path, after_path, requests, hz):
    """CPU ms per request by thread group, from two "TID NAME TICKS"
    snapshots. Names lose their trailing number (latchkey-hash-0 and -1 are
    one group); of latchkey's SQLite threads, whose names the kernel cuts to
    "latchkey-sqlite", the first started (lowest id) is the writer."""
    def snapshot(path):
        rows = {}
        for line in open(path):
            fields = line.split()
            if len(fields) == 3 and fields[2].isdigit():  # else the thread ended while read
                rows[int(fields[0])] = (fields[1], int(fields[2]))
        return rows

    before, after = snapshot(before_path), snapshot(after_path)
    sqlite = sorted(t for t, (name, _) in after.items() if name == "latchkey-sqlite") or [0]
    groups = {}
    for tid, (name, ticks) in after.items():
        used = ticks - before.get(tid, (name, 0))[1]
        if name == "latchkey-sqlite":
            name = "latchkey-sqlite (writer)" if tid == sqlite[0] else "latchkey-sqlite (readers)"
        else:
            name = name.rstrip("0123456789").rstrip("-_") or name
        groups[name] = groups.get(name, 0) + used
    ms = {k: round(v * 1000 / int(hz) / int(requests), 4) for k, v in groups.items() if v > 0}
    print(json.dumps(dict(sorted(ms.items(), key=lambda kv: -kv[1]))))


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    command, args = args[0], args[1:]
    if command == "spawn-ready":
        split = args.index("--")
        spawn_ready(args[0], args[1], args[split + 1:])
    elif command == "request":
        cmd_request(args)
    elif command == "latchkey-tokens":
        latchkey_tokens(args[0], args[1], args[2], int(args[3]))
    elif command == "latchkey-cookie":
        latchkey_cookie(*args)
    elif command == "oauth-tokens":
        oauth_tokens(*args[:7], int(args[7]))
    elif command == "login-timing":
        login_timing(args[0], args[1], args[2], int(args[3]))
    elif command == "magic-link-timing":
        magic_link_timing(args[0], args[1], int(args[2]))
    elif command == "threads":
        threads(*args)
    elif command == "report":
        report(args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
