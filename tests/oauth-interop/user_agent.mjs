// A person's browser without a browser: a cookie jar, redirects followed by
// hand, and latchkey's hosted pages answered with plain form posts (the
// sign-in form with its CSRF field, then the consent form). Used by
// openid_client.mjs; authlib_rp.py has the same in Python.

/** The HTML entities latchkey's templates write into attribute values. */
function unescapeHtml(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d) => String.fromCodePoint(parseInt(d, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The `<form>` of `html` posting to `action`: its hidden fields, or null. */
export function hiddenFields(html, action) {
  const forms = html.split(/<form\b/i).slice(1);
  for (const form of forms) {
    const head = form.slice(0, form.indexOf(">"));
    const act = /action="([^"]*)"/i.exec(head);
    if (!act || unescapeHtml(act[1]) !== action) continue;
    const body = form.slice(0, form.search(/<\/form>/i));
    const fields = {};
    for (const m of body.matchAll(/<input\b[^>]*>/gi)) {
      const tag = m[0];
      if (!/type="hidden"/i.test(tag)) continue;
      const name = /name="([^"]*)"/i.exec(tag);
      const value = /value="([^"]*)"/i.exec(tag);
      if (name) fields[unescapeHtml(name[1])] = value ? unescapeHtml(value[1]) : "";
    }
    return fields;
  }
  return null;
}

export class UserAgent {
  /** `origin`: latchkey's; the `Origin` header of the form posts, as a browser sends it. */
  constructor(origin) {
    this.origin = origin;
    this.jar = new Map();
    this.pages = [];
  }

  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async request(url, init = {}) {
    const headers = { ...(init.headers ?? {}) };
    if (this.jar.size > 0) headers.cookie = this.cookieHeader();
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (value === "" || expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  async post(url, fields) {
    return this.request(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: this.origin,
      },
      body: new URLSearchParams(fields),
    });
  }

  /**
   * Follows `start` through latchkey's pages until a redirect leaves for
   * `redirectUri`; signs in as `login` (email, password) when the sign-in
   * page asks and allows on the consent page. Resolves to the redirect's URL.
   * `this.pages` records which pages were answered ("login", "consent").
   */
  async authorize(start, redirectUri, login) {
    this.pages = [];
    let url = start;
    for (let step = 0; step < 12; step++) {
      if (url.startsWith(redirectUri)) return url;
      const res = await this.request(url);
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get("location"), url).href;
        continue;
      }
      const html = await res.text();
      if (res.status !== 200) {
        throw new Error(`${url} answered ${res.status}: ${html.slice(0, 300)}`);
      }
      const login_form = hiddenFields(html, "/login");
      const consent_form = hiddenFields(html, "/oauth2/authorize");
      let posted;
      if (login_form) {
        this.pages.push("login");
        posted = await this.post(new URL("/login", url).href, {
          ...login_form,
          identifier: login.email,
          password: login.password,
        });
      } else if (consent_form) {
        this.pages.push("consent");
        posted = await this.post(new URL("/oauth2/authorize", url).href, {
          ...consent_form,
          decision: "allow",
        });
      } else {
        throw new Error(`${url}: neither the sign-in nor the consent page: ${html.slice(0, 300)}`);
      }
      if (posted.status < 300 || posted.status >= 400) {
        throw new Error(`the form on ${url} answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
      }
      url = new URL(posted.headers.get("location"), url).href;
    }
    throw new Error(`no redirect to ${redirectUri} after 12 steps (at ${url})`);
  }
}
