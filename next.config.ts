import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native addons and packages that load their own wasm must not be bundled.
  serverExternalPackages: [
    "@electric-sql/pglite",
    "pglite-prisma-adapter",
    "@prisma/adapter-pg",
    "argon2",
    "pg",
    "@modelcontextprotocol/sdk",
    "re2-wasm",
  ],
  poweredByHeader: false,
  // `npm test` type-checks the whole tree (tests included) with tsc; doing it again in every
  // build only slows `npm start` down.
  typescript: { ignoreBuildErrors: true },
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          // The dashboard must never be framed (clickjacking on approve/deny and toggles).
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
  typedRoutes: false,
};

export default nextConfig;
