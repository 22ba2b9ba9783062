"use client";

import { KeyRound, LogIn } from "lucide-react";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CodeBlock } from "@/components/ui/code-block";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";

type PortalConnectCardProps = { slug: string; url: string };

/** Copy-paste set-up for the clients people actually use. */
export function PortalConnectCard({ slug, url }: PortalConnectCardProps) {
  const vscode = JSON.stringify({ servers: { [slug]: { type: "http", url } } }, null, 2);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Connect</CardTitle>
        <CardDescription>Point an MCP client at this portal. It speaks Streamable HTTP.</CardDescription>
      </CardHeader>
      <CardContent className="grid grid-cols-1 gap-4">
        <Tabs defaultValue="claude-code">
          <TabsList aria-label="MCP client">
            <TabsTrigger value="claude-code">Claude Code</TabsTrigger>
            <TabsTrigger value="vscode">VS Code</TabsTrigger>
            <TabsTrigger value="inspector">MCP Inspector</TabsTrigger>
            <TabsTrigger value="other">Other clients</TabsTrigger>
          </TabsList>

          <TabsContent value="claude-code" className="grid gap-2">
            <p className="text-sm text-muted-foreground">Run in a terminal, then use /mcp in Claude Code to sign in.</p>
            <CodeBlock title="Claude Code command" code={`claude mcp add --transport http ${slug} ${url}`} wrap />
          </TabsContent>

          <TabsContent value="vscode" className="grid gap-2">
            <p className="text-sm text-muted-foreground">
              Add to <code className="font-mono text-foreground">.vscode/mcp.json</code> in your workspace (or to your user MCP
              configuration), then start the server from the file.
            </p>
            <CodeBlock title=".vscode/mcp.json" code={vscode} />
          </TabsContent>

          <TabsContent value="inspector" className="grid gap-3">
            <div className="grid gap-2">
              <p className="text-sm text-muted-foreground">
                Start the Inspector, choose the <strong className="font-medium text-foreground">Streamable HTTP</strong> transport
                and paste the portal URL.
              </p>
              <CodeBlock title="Inspector (browser)" code="npx @modelcontextprotocol/inspector" />
            </div>
            <div className="grid gap-2">
              <p className="text-sm text-muted-foreground">
                Or list the tools from the command line, with a service account&apos;s token (the command line does not open a browser to sign in):
              </p>
              <CodeBlock
                title="Inspector (command line)"
                code={`npx @modelcontextprotocol/inspector --cli ${url} --transport http --header "Authorization: Bearer $TOKEN" --method tools/list`}
                wrap
              />
            </div>
          </TabsContent>

          <TabsContent value="other" className="grid gap-2">
            <p className="text-sm text-muted-foreground">
              Any MCP client that supports remote servers over Streamable HTTP: add a server with this URL.
            </p>
            <CodeBlock title="Streamable HTTP endpoint" code={url} wrap />
          </TabsContent>
        </Tabs>

        <ul className="grid gap-2 text-sm text-muted-foreground">
          <li className="flex gap-2">
            <LogIn aria-hidden className="mt-0.5 size-4 shrink-0" />
            <span>
              <span className="font-medium text-foreground">People</span> sign in with company SSO (OAuth) the first time their
              client connects; they see the tools their roles allow.
            </span>
          </li>
          <li className="flex gap-2">
            <KeyRound aria-hidden className="mt-0.5 size-4 shrink-0" />
            <span>
              <span className="font-medium text-foreground">Automations</span> send a service account token instead:{" "}
              <code className="font-mono text-xs text-foreground">Authorization: Bearer &lt;token&gt;</code>.
            </span>
          </li>
        </ul>
      </CardContent>
    </Card>
  );
}
