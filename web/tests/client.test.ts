// The API client against a real HTTP server on 127.0.0.1 that records what it receives and
// answers as the contract says (the server side is not ours to fake; this one only echoes).

import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ApiClient, ApiError } from "../src/api/client";

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const ME = {
  user: {
    id: 1,
    username: "anna",
    name: "Anna",
    roles: ["agent"],
    department: null,
    must_change_password: false,
    language: "ru",
  },
  csrf_token: "token-from-login",
};

let server: Server;
let base: string;
let seen: Seen[];

function answer(res: import("node:http").ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { "Content-Type": "application/json", ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      const url = req.url ?? "";
      if (url === "/api/v1/auth/login") {
        const { password } = JSON.parse(body) as { password: string };
        if (password === "slow down") return answer(res, 429, { code: "too_many_attempts", message: "wait", details: {} }, { "Retry-After": "125" });
        if (password !== "right") return answer(res, 401, { code: "bad_credentials", message: "no", details: {} });
        return answer(res, 200, ME);
      }
      if (url === "/api/v1/auth/me") return answer(res, 200, { ...ME, csrf_token: "token-from-me" });
      if (url === "/api/v1/agent/me") return answer(res, 401, { code: "not_signed_in", message: "sign in", details: {} });
      if (url === "/api/v1/agent/wrapup")
        return answer(res, 422, {
          code: "invalid_input",
          message: "the request is not valid",
          details: { problems: [{ loc: ["body", "code"], message: "unknown wrap-up code" }] },
        });
      if (url === "/api/v1/agent/phone") return answer(res, 403, { code: "password_change_required", message: "change it", details: {} });
      if (url === "/api/v1/broken") {
        res.writeHead(502, { "Content-Type": "text/html" });
        return res.end("<html>bad gateway</html>");
      }
      return answer(res, 204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  seen = [];
});

const last = (): Seen => {
  const s = seen[seen.length - 1];
  if (!s) throw new Error("nothing reached the server");
  return s;
};

describe("ApiClient", () => {
  it("sends the CSRF token from login on every request that changes something, and not on reads", async () => {
    const api = new ApiClient({ base, readCookie: () => null });
    await api.login("anna", "right");
    expect(last().headers["x-csrf-token"]).toBeUndefined(); // login itself has no session yet
    expect(last().headers["content-type"]).toBe("application/json");
    await api.setState("ready");
    expect(last().headers["x-csrf-token"]).toBe("token-from-login");
    await api.softphoneClose();
    expect(last()).toMatchObject({ method: "DELETE", url: "/api/v1/agent/softphone" });
    expect(last().headers["x-csrf-token"]).toBe("token-from-login");
    await api.request("PUT", "/agents/anna/skills", { body: [] });
    expect(last().headers["x-csrf-token"]).toBe("token-from-login");
    await api.request("GET", "/wallboard");
    expect(last().headers["x-csrf-token"]).toBeUndefined();
  });

  it("takes the token from /auth/me after a reload", async () => {
    const api = new ApiClient({ base, readCookie: () => null });
    await api.me();
    await api.acceptOffer();
    expect(last().headers["x-csrf-token"]).toBe("token-from-me");
  });

  it("falls back to the hotline_csrf cookie before login or me answered", async () => {
    const api = new ApiClient({ base, readCookie: (name) => (name === "hotline_csrf" ? "from-cookie" : null) });
    await api.callAction("hangup");
    expect(last().headers["x-csrf-token"]).toBe("from-cookie");
  });

  it("sends JSON bodies as the contract names them", async () => {
    const api = new ApiClient({ base });
    await api.transfer("warm", "queue:covid");
    expect(JSON.parse(last().body)).toEqual({ mode: "warm", target: "queue:covid" });
    await api.setState("not_ready", "training");
    expect(JSON.parse(last().body)).toEqual({ state: "not_ready", reason: "training" });
    await api.setAgentState("boris", "ready");
    expect(last().url).toBe("/api/v1/agents/boris/state");
    expect(JSON.parse(last().body)).toEqual({ state: "ready" });
  });

  it("keeps the language on the server with PATCH /auth/me, CSRF token included", async () => {
    const api = new ApiClient({ base, readCookie: () => null });
    await api.login("anna", "right");
    const me = await api.setLanguage("en");
    expect(last()).toMatchObject({ method: "PATCH", url: "/api/v1/auth/me" });
    expect(JSON.parse(last().body)).toEqual({ language: "en" });
    expect(last().headers["x-csrf-token"]).toBe("token-from-login");
    expect(me.user.username).toBe("anna");
    expect(api.csrfToken).toBe("token-from-me");
  });

  it("reads the desktop's options with GET and has no mute route", async () => {
    const api = new ApiClient({ base });
    await api.agentOptions().catch(() => undefined);
    expect(last()).toMatchObject({ method: "GET", url: "/api/v1/agent/options" });
    expect(seen.some((s) => s.url.includes("mute"))).toBe(false);
  });

  it("turns the catalogue's errors into ApiError with code, details and the 429 wait", async () => {
    const api = new ApiClient({ base });
    const limited = await api.login("anna", "slow down").catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(ApiError);
    expect(limited).toMatchObject({ status: 429, code: "too_many_attempts", retryAfter: 125 });
    const invalid = (await api.wrapUp("nope").catch((e: unknown) => e)) as ApiError;
    expect(invalid.code).toBe("invalid_input");
    expect(invalid.problems).toEqual([{ loc: ["body", "code"], message: "unknown wrap-up code" }]);
    const broken = (await api.request("GET", "/broken").catch((e: unknown) => e)) as ApiError;
    expect(broken).toMatchObject({ status: 502, code: "http_502" });
  });

  it("goes to login on 401, but not for a wrong password at login", async () => {
    let sentToLogin = 0;
    const api = new ApiClient({ base, onUnauthorized: () => sentToLogin++ });
    await expect(api.login("anna", "wrong")).rejects.toMatchObject({ code: "bad_credentials" });
    expect(sentToLogin).toBe(0);
    await expect(api.agentMe()).rejects.toMatchObject({ code: "not_signed_in" });
    expect(sentToLogin).toBe(1);
  });

  it("asks for the password change when the server requires it", async () => {
    let asked = 0;
    const api = new ApiClient({ base, onPasswordChangeRequired: () => asked++ });
    await expect(api.setPhone("sip")).rejects.toMatchObject({ code: "password_change_required" });
    expect(asked).toBe(1);
  });

  it("reports an unreachable server as network_error", async () => {
    const api = new ApiClient({ base: "http://127.0.0.1:1" });
    await expect(api.me()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});
