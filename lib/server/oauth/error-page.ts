import "server-only";
import type { KoaContextWithOIDC } from "oidc-provider";

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * What a person sees in the browser when an authorization request cannot even be sent back to the
 * client (unknown client, redirect URI that does not match, …): the OAuth error and its description,
 * which say what is wrong, and nothing else (no stack, no internals).
 */
export async function renderErrorPage(ctx: KoaContextWithOIDC, out: { error?: string; error_description?: string }) {
  const error = escape(String(out.error ?? "server_error"));
  const description = escape(String(out.error_description ?? "Something went wrong."));
  ctx.type = "html";
  ctx.body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · Portico</title>
<style>body{font-family:system-ui,sans-serif;background:#f4f4f5;color:#18181b;display:flex;min-height:100vh;align-items:center;justify-content:center;margin:0}
main{background:#fff;border:1px solid #e4e4e7;border-radius:12px;padding:32px;max-width:28rem}h1{font-size:1.15rem;margin:0 0 8px}p{margin:8px 0;line-height:1.5}code{background:#f4f4f5;padding:2px 6px;border-radius:4px}</style>
</head><body><main><h1>This sign-in request cannot continue</h1><p>${description}</p><p>Error code: <code>${error}</code></p>
<p>Close this window and try again from your MCP client. If it keeps happening, show this page to your Portico admin.</p></main></body></html>`;
}
