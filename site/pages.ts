// The demo site's HTML: plain pages, one stylesheet and one module script, all served by the site
// itself (no external resource), so the Content-Security-Policy can forbid everything else.

/** Only same-origin scripts, styles and fetches; no inline code, no framing, no foreign forms. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const LOGIN_SCRIPT = 'site/static/login.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Allium</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<header><a class="brand" href="/">Allium</a><nav><a href="/login">Log in</a> <a href="/secret">Secret</a></nav></header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Whether the visitor came through an Allium exit; `unknown` when no relay list is available. */
export type Arrival = 'allium' | 'direct' | 'unknown';

export function indexPage(peer: string, arrival: Arrival): string {
  const banner = {
    allium: `<p class="banner allium">You are using Allium: this request came from <code>${escapeHtml(peer)}</code>, the outbound address of an Allium relay.</p>`,
    direct: `<p class="banner direct">You are not using Allium: this request came straight from <code>${escapeHtml(peer)}</code>, which no Allium relay announces.</p>`,
    unknown: `<p class="banner unknown">Your request came from <code>${escapeHtml(peer)}</code>. This site has no relay list at hand, so it cannot tell whether that is an Allium exit.</p>`,
  }[arrival];
  return page(
    'Welcome',
    `<h1>Allium</h1>
${banner}
<p>Allium is an onion-routing network for the web. Your browser extension or the <code>allium</code>
command builds a circuit through three relays: each relay peels one layer of encryption, knows only
its neighbours, and the last one — the exit — makes the request for you. This site sees the exit's
address, never yours.</p>
<p>This site compares the address of each visitor with the outbound addresses that Allium relays
publish in their signed descriptors, the way check.torproject.org does for Tor.</p>
<h2>Logging in without giving the site your password</h2>
<p>The <a href="/login">login page</a> uses SCRAM-SHA-256 (RFC 5802, RFC 7804): your browser proves
it knows the password without sending it, and the site proves it holds your account's verifier, so
both sides are authenticated. The site stores only a salted verifier, never the password.</p>`,
  );
}

export function loginPage(): string {
  return page(
    'Log in',
    `<h1>Log in</h1>
<form id="login" class="card">
<label>User name <input name="user" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
<p id="status" role="status"></p>
</form>
<noscript><p class="banner direct">The login runs SCRAM in your browser and needs JavaScript.</p></noscript>
<script type="module" src="/js/${LOGIN_SCRIPT}"></script>`,
  );
}

export function secretPage(user: string, secret: string): string {
  return page(
    'Secret',
    `<h1>The secret</h1>
<p>Logged in as <strong>${escapeHtml(user)}</strong>.</p>
<blockquote class="card secret">${escapeHtml(secret)}</blockquote>`,
  );
}

export function needLoginPage(): string {
  return page('Log in first', `<h1>Log in first</h1><p>This page needs a login: <a href="/login">log in</a>.</p>`);
}

export function notFoundPage(): string {
  return page('Not found', `<h1>Not found</h1><p>Nothing here. <a href="/">Back to the start</a>.</p>`);
}
