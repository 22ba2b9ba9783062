import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { createConfigStore } from "./config-store";

type Snap = { version: number; note?: string };

// Signature checking is jose's and is exercised over HTTP in gateway.int.test.ts; here the
// verifier is a stand-in so the version and persistence rules can be tested on their own.
const verify = async (jws: string): Promise<Snap> => {
  if (!jws.startsWith("signed:")) throw new Error("signature verification failed");
  return JSON.parse(jws.slice(7)) as Snap;
};
const signed = (s: Snap) => `signed:${JSON.stringify(s)}`;
const down: typeof fetch = async () => {
  throw new TypeError("fetch failed");
};

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "portico-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function store() {
  return createConfigStore<Snap>({
    controlPlaneUrl: "http://127.0.0.1:9",
    gatewayToken: undefined,
    gatewayName: "t",
    gatewayUrl: "http://gw",
    dataDir: dir,
    verify,
    versionOf: (s) => s.version,
    fetchImpl: down,
  });
}

describe("config store", () => {
  it("applies newer versions, refuses equal and older ones with 409, keeps the newest", async () => {
    const s = store();
    const changes: number[] = [];
    s.onChange((next) => changes.push(next.version));
    expect(await s.accept({ version: 2, jws: signed({ version: 2 }) })).toEqual({ status: 200, runningVersion: 2 });
    expect((await s.accept({ version: 2, jws: signed({ version: 2 }) })).status).toBe(409);
    expect((await s.accept({ version: 1, jws: signed({ version: 1 }) })).status).toBe(409);
    expect(s.current()?.version).toBe(2);
    expect(changes).toEqual([2]);
    s.close();
  });

  it("refuses bad bodies, bad signatures and a version that disagrees with the signed one with 422", async () => {
    const s = store();
    expect((await s.accept({ version: "3" })).status).toBe(422);
    expect((await s.accept({ version: 3, jws: "forged" })).status).toBe(422);
    expect((await s.accept({ version: 9, jws: signed({ version: 3 }) })).status).toBe(422);
    expect(s.current()).toBeNull();
    s.close();
  });

  it("serializes racing pushes: the newest wins whatever the order", async () => {
    const s = store();
    const outcomes = await Promise.all([s.accept({ version: 5, jws: signed({ version: 5 }) }), s.accept({ version: 4, jws: signed({ version: 4 }) })]);
    expect(outcomes.map((o) => o.status)).toEqual([200, 409]);
    expect(s.current()?.version).toBe(5);
    s.close();
  });

  it("persists the last good snapshot atomically and serves it after a restart with the control plane down", async () => {
    const first = store();
    await first.accept({ version: 3, jws: signed({ version: 3, note: "kept" }) });
    first.close();
    expect(JSON.parse(await readFile(path.join(dir, "snapshot.json"), "utf8"))).toEqual({ version: 3, jws: signed({ version: 3, note: "kept" }) });
    const second = store();
    await second.start();
    expect(second.current()?.snapshot).toEqual({ version: 3, note: "kept" });
    second.close();
  });

  it("does not load a saved snapshot that fails verification", async () => {
    await writeFile(path.join(dir, "snapshot.json"), JSON.stringify({ version: 4, jws: "tampered" }));
    const s = store();
    await s.start();
    expect(s.current()).toBeNull();
    s.close();
  });
});
