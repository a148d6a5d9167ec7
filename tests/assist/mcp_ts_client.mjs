// `sceneforge mcp` driven by the official TypeScript MCP SDK's client (`@modelcontextprotocol/sdk`), the one
// Claude Desktop, Claude Code, Cursor and VS Code use.
//
// Usage: node mcp_ts_client.mjs '<config JSON>'
//   {"transport": "stdio", "command": "...", "args": [...], "env": {...}, "cwd": "...", "scene": "two-rooms"}
//   {"transport": "http", "url": "http://127.0.0.1:PORT/mcp", "scene": "two-rooms"}
// It runs one session (handshake, tool list, the tools on `scene`, a refused patch, an unknown tool, resources,
// close) and prints what each step answered as one JSON object on stdout; the test asserts on it. A step that
// throws is recorded as {"thrown": {name, code, message, data}} and the session goes on, so every step is seen.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const config = JSON.parse(process.argv[2]);
const scene = config.scene;
const TIMEOUT = { timeout: 60_000 };
const summary = { transport: config.transport };

function thrown(error) {
  return { thrown: { name: error?.name, code: error?.code, message: String(error?.message ?? error), data: error?.data } };
}

async function step(name, run) {
  try {
    summary[name] = await run();
  } catch (error) {
    summary[name] = thrown(error);
  }
  return summary[name];
}

// A tool's answer: its structured content, whether it is a tool error, and whether its text is the same JSON.
async function call(name, args) {
  const reply = await client.callTool({ name, arguments: args }, undefined, TIMEOUT);
  const text = reply.content?.find((c) => c.type === "text")?.text;
  let textMatches = false;
  try {
    textMatches = JSON.stringify(JSON.parse(text)) === JSON.stringify(reply.structuredContent);
  } catch {
    textMatches = false;
  }
  return { isError: reply.isError === true, body: reply.structuredContent ?? null, textMatches };
}

let transport;
let child = null;
const negotiated = [];
if (config.transport === "stdio") {
  transport = new StdioClientTransport({
    command: config.command,
    args: config.args,
    env: config.env,
    cwd: config.cwd,
    stderr: "inherit",
  });
  // The stdio transport carries no version; the client hands it the negotiated one when it can take it.
  transport.setProtocolVersion = (version) => negotiated.push(version);
} else {
  transport = new StreamableHTTPClientTransport(new URL(config.url));
  const set = transport.setProtocolVersion.bind(transport);
  transport.setProtocolVersion = (version) => {
    negotiated.push(version);
    set(version);
  };
}
const client = new Client({ name: "sceneforge-ts-test", version: "1.0.0" });
// What the client reports outside any call (a stream it could not open, a message it could not parse) until it
// closes; none is expected. Closing aborts its own streams (over HTTP, its GET stream): reported apart.
summary.clientErrors = [];
summary.closingErrors = [];
let closing = false;
client.onerror = (error) => (closing ? summary.closingErrors : summary.clientErrors).push(String(error?.message ?? error));

// The ids of the calls the client cancelled (what it sends), to tell a late answer to one of them from a stray.
summary.cancelledIds = [];
const send = transport.send.bind(transport);
transport.send = (message, options) => {
  if (message.method === "notifications/cancelled") summary.cancelledIds.push(message.params?.requestId);
  return send(message, options);
};

await step("connect", async () => {
  await client.connect(transport, TIMEOUT);
  if (config.transport === "stdio") child = transport._process ?? null; // to see how it exits on close
  return {
    protocolVersion: negotiated.at(-1) ?? null,
    serverInfo: client.getServerVersion() ?? null,
    capabilities: client.getServerCapabilities() ?? null,
    sessionId: transport.sessionId ?? null,
  };
});

await step("tools", async () => {
  const listed = await client.listTools(undefined, TIMEOUT);
  const tools = {};
  for (const tool of listed.tools) {
    tools[tool.name] = {
      required: tool.inputSchema?.required ?? [],
      // Each argument's JSON type ("integer|null" for an optional one).
      properties: Object.fromEntries(
        Object.entries(tool.inputSchema?.properties ?? {}).map(([arg, schema]) => [
          arg,
          schema.type ?? (schema.anyOf ?? []).map((s) => s.type).join("|"),
        ]),
      ),
      inputType: tool.inputSchema?.type,
      hasOutputSchema: tool.outputSchema !== undefined,
      outputValidated: client.getToolOutputValidator(tool.name) !== undefined,
    };
  }
  return { tools, nextCursor: listed.nextCursor ?? null };
});

const room = (max) => ({ sceneId: "ts", cells: [{ cellId: "a", room: { min: [0, 0, 0], max } }] });
await step("validateGood", () => call("validate_scene", { description: room([4, 3, 4]) }));
await step("validateBad", () => call("validate_scene", { description: room([-1, 3, 4]) }));
await step("getDraft", () => call("get_draft", { scene_id: scene }));
// A pointer to a cell that is not there: refused, naming the pointer.
const badPointer = "/cells/7/room/max/0";
await step("patchBadPointer", () =>
  call("patch_draft", { scene_id: scene, ops: [{ op: "replace", path: badPointer, value: 10 }] }),
);
await step("patchBadValue", () =>
  call("patch_draft", { scene_id: scene, ops: [{ op: "replace", path: "/cells/1/room/max/0", value: "wide" }] }),
);
await step("patch", () =>
  call("patch_draft", {
    scene_id: scene,
    ops: [{ op: "replace", path: "/cells/1/room/max/0", value: 10 }],
    reason: "wider b — from the TypeScript client",
    if_rev: summary.getDraft?.body?.rev,
  }),
);
await step("undo", () => call("undo", { scene_id: scene }));
await step("enqueueBuild", () => call("enqueue_build", { scene_id: scene }));
await step("job", async () => {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const job = await call("job_status", { job_id: summary.enqueueBuild?.body?.jobId });
    const status = job.body?.status;
    if (["Succeeded", "Failed", "Canceled"].includes(status) || job.isError || Date.now() > deadline) return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});
await step("metaBeforePublish", () => call("get_meta", { scene_id: scene }));
await step("publish", () =>
  call("publish", { scene_id: scene, version: summary.job?.body?.result?.version }),
);
await step("meta", () => call("get_meta", { scene_id: scene }));
await step("wrongArgumentType", async () => {
  const reply = await client.callTool({ name: "get_draft", arguments: { scene_id: 42 } }, undefined, TIMEOUT);
  return { isError: reply.isError === true, text: reply.content?.map((c) => c.text ?? "").join("\n") ?? "" };
});
// Half an emoji: JSON.stringify writes the lone surrogate as "\ud83d", JSON that is not strict JSON to the server.
await step("loneSurrogate", () =>
  call("validate_scene", { description: { ...room([4, 3, 4]), props: { label: "room \ud83d" } } }),
);
await step("unknownTool", () => call("no_such_tool", {}));
await step("ping", () => client.ping(TIMEOUT));
// A call the client gives up on: the SDK sends notifications/cancelled, and the session goes on.
await step("cancelled", async () => {
  const controller = new AbortController();
  const pending = client.callTool({ name: "validate_scene", arguments: { description: room([4, 3, 4]) } }, undefined, {
    ...TIMEOUT,
    signal: controller.signal,
  });
  controller.abort("no longer needed");
  const outcome = await pending.then(
    () => ({ answered: true }),
    (error) => thrown(error),
  );
  return { ...outcome, after: await call("get_draft", { scene_id: scene }).then((r) => r.body?.rev ?? null) };
});
await step("prompts", async () => (await client.listPrompts(undefined, TIMEOUT)).prompts);
await step("resourceTemplates", async () => (await client.listResourceTemplates(undefined, TIMEOUT)).resourceTemplates);
await step("resources", async () => {
  const listed = await client.listResources(undefined, TIMEOUT);
  return { resources: listed.resources, nextCursor: listed.nextCursor ?? null };
});
await step("readMissing", () => client.readResource({ uri: "file:///nowhere/scene.json" }, TIMEOUT));

await step("close", async () => {
  closing = true;
  const exited =
    child === null || child.exitCode !== null
      ? Promise.resolve()
      : new Promise((resolve) => child.once("exit", resolve));
  // Over HTTP the client ends its session (DELETE), as the SDK's clients do when they are done with a server.
  const terminated = config.transport === "http" ? await transport.terminateSession().then(() => true) : null;
  await client.close();
  await exited;
  return {
    exitCode: child?.exitCode ?? null,
    signal: child?.signalCode ?? null,
    terminated,
  };
});

// Over HTTP the ended session is gone: a request in it is answered 404, as the transport specifies.
if (config.transport === "http") {
  await step("afterTerminate", async () => {
    const response = await fetch(config.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": summary.connect?.sessionId ?? "",
        "mcp-protocol-version": summary.connect?.protocolVersion ?? "",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    return { status: response.status };
  });
}

process.stdout.write(JSON.stringify(summary) + "\n");
