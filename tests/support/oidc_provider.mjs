// A real OpenID Connect provider on loopback for the single sign-on tests: node-oidc-provider (installed by
// `make .ci/node/.installed` into .ci/node), with a client, a few people and a small sign-in form of its own.
//
// Usage: node oidc_provider.mjs CONFIG.json, where the file holds
//   {"module": ".../oidc-provider/lib/index.js",
//    "clients": [{"client_id": "...", "client_secret": "...", "redirect_uris": ["http://.../login/sso/callback"]}],
//    "people_file": "people.json"}
// and the people file {"carol": {"password": "...", "claims": {"name": "...", "email": "...", "groups": ["..."]}}},
// read again at every sign-in (a test moves someone to another group by writing it).
// It listens on 127.0.0.1 and a free port, then prints one line, {"issuer": "http://127.0.0.1:PORT"}, and
// serves until it is stopped. The sign-in form (GET /interaction/UID) posts the user name and password to
// /interaction/UID/login; consent is given for the registered client without asking.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { pathToFileURL } from "node:url";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { default: Provider } = await import(pathToFileURL(config.module).href);
const people = () => JSON.parse(readFileSync(config.people_file, "utf8"));
const person = (name) => {
  const known = people();
  return Object.hasOwn(known, name) ? known[name] : undefined;
};

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

function form(uid, message) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test provider: sign in</title></head>
<body><main><h1>Test provider</h1>${message ? `<p role="alert">${escape(message)}</p>` : ""}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Provider user name <input name="login" autocomplete="off" required></label>
<label>Provider password <input name="password" type="password" required></label>
<button type="submit">Continue</button></form></main></body></html>`;
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
      if (body.length > 10000) reject(new Error("form too large"));
    });
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

const server = http.createServer();
server.listen(0, "127.0.0.1", () => {
  // Some providers write their issuer with a trailing slash ("trailing_slash": true), and their tokens with it.
  const issuer = `http://127.0.0.1:${server.address().port}${config.trailing_slash ? "/" : ""}`;
  const signingKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const provider = new Provider(issuer, {
    clients: config.clients.map((client) => ({
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      ...client,
    })),
    jwks: { keys: [{ ...signingKey, use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: {
      openid: ["sub"],
      profile: ["name", "given_name", "family_name", "preferred_username"],
      email: ["email", "email_verified"],
      groups: ["groups"],
    },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      if (!person(sub)) return undefined;
      return { accountId: sub, claims: async () => ({ ...person(sub).claims, sub }) };
    },
    // The registered client is this provider's own application: what it asks for is granted without a
    // consent page, as an organisation's provider does for its own applications.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(" ") : "openid");
      await grant.save();
      return grant;
    },
  });
  const handle = provider.callback();

  server.on("request", async (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(new URL(req.url, issuer).pathname);
    if (!match) return handle(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== match[1]) throw new Error("interaction mismatch");
      if (req.method === "GET" && !match[2]) {
        res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
        return res.end(form(details.uid));
      }
      if (req.method !== "POST" || !match[2]) {
        res.writeHead(405);
        return res.end();
      }
      const fields = await readForm(req);
      const login = fields.get("login") || "";
      const found = person(login);
      if (!found || found.password !== fields.get("password")) {
        res.writeHead(401, { "Content-Type": "text/html; charset=utf-8" });
        return res.end(form(details.uid, "Wrong user name or password."));
      }
      return await provider.interactionFinished(req, res, { login: { accountId: login } }, {
        mergeWithLastSubmission: false,
      });
    } catch (error) {
      res.writeHead(400, { "Content-Type": "text/plain; charset=utf-8" });
      return res.end(`interaction failed: ${error.message}`);
    }
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
