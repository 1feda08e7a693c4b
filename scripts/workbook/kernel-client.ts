/**
 * A minimal Jupyter client for one kernel process: starts `tslab kernel` with
 * a connection file, speaks the Jupyter messaging protocol (v5.3) over the
 * zeromq package tslab itself depends on, and executes cells one at a time,
 * collecting their outputs as nbformat 4 output objects.
 *
 * Only what executing a notebook needs is implemented: kernel_info (to wait
 * until the kernel's iopub is joined), execute_request with its iopub
 * messages, and shutdown. Messages are signed with HMAC-SHA256 as the
 * protocol requires.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as zmq from "zeromq";

/** An nbformat 4 output object. */
export type NbOutput =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] };

/** What running one cell gave. */
export interface CellResult {
  status: "ok" | "error" | "timeout";
  executionCount: number | null;
  outputs: NbOutput[];
  /** The error text as a reader should see it: the error output, else the cell's stderr. */
  errorText: string;
}

interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

interface Message {
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

const DELIM = "<IDS|MSG>";

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

/**
 * The kernel command line of the repository's kernelspec
 * (jupyter/kernels/tslab/kernel.json), with `{resource_dir}` and
 * `{connection_file}` filled in as Jupyter does, minus the leading "node"
 * (the caller runs it with this Node). So the workbook, nbconvert and the
 * live server start the same kernel, with the same preload
 * (model-errors.cjs: a thrown error becomes a Jupyter error output).
 * @throws Error when kernel.json is missing or its argv does not start with "node".
 */
export function kernelArgv(repoRoot: string, connectionFile: string): string[] {
  const resourceDir = resolve(repoRoot, "jupyter", "kernels", "tslab");
  const spec = JSON.parse(readFileSync(join(resourceDir, "kernel.json"), "utf8")) as { argv?: unknown };
  const argv = Array.isArray(spec.argv) ? spec.argv.map(String) : [];
  if (argv[0] !== "node") throw new Error(`${join(resourceDir, "kernel.json")}: argv must start with "node", got ${JSON.stringify(argv[0])}`);
  return argv.slice(1).map((a) => a.split("{resource_dir}").join(resourceDir).split("{connection_file}").join(connectionFile));
}

/** A running tslab kernel. Create with {@link KernelClient.start}; always {@link KernelClient.shutdown}. */
export class KernelClient {
  private readonly session = randomUUID();
  private readonly shell = new zmq.Dealer();
  private readonly control = new zmq.Dealer();
  private readonly iopub = new zmq.Subscriber();
  private readonly pending = new Map<string, (m: Message) => void>();
  private readonly iopubHandlers = new Map<string, (m: Message) => void>();
  private closed = false;
  private stderrTail = "";
  private exitInfo: string | null = null;

  private constructor(
    private readonly proc: ChildProcess,
    private readonly key: string,
    private readonly tmp: string,
  ) {
    proc.stderr?.on("data", (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
    });
    proc.on("exit", (code, sig) => {
      this.exitInfo = `kernel exited (code ${code}, signal ${sig})`;
    });
  }

  /**
   * Start `tslab kernel` (TypeScript mode) with `cwd` as its working
   * directory: tslab resolves cell imports relative to it, as Jupyter does
   * when it starts a kernel for a notebook in that folder.
   * @throws Error if the kernel does not answer kernel_info within `timeoutMs`.
   */
  static async start(cwd: string, repoRoot: string, timeoutMs = 60_000): Promise<KernelClient> {
    const [shell, iopub, control, stdin, hb] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const key = randomBytes(16).toString("hex");
    const tmp = mkdtempSync(join(tmpdir(), "dma-workbook-kernel-"));
    const connFile = join(tmp, "connection.json");
    writeFileSync(
      connFile,
      JSON.stringify({
        shell_port: shell,
        iopub_port: iopub,
        control_port: control,
        stdin_port: stdin,
        hb_port: hb,
        ip: "127.0.0.1",
        key,
        transport: "tcp",
        signature_scheme: "hmac-sha256",
        kernel_name: "tslab",
      }),
    );
    const argv = kernelArgv(repoRoot, connFile);
    const proc = spawn(process.execPath, argv, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env },
    });
    const k = new KernelClient(proc, key, tmp);
    k.shell.connect(`tcp://127.0.0.1:${shell}`);
    k.control.connect(`tcp://127.0.0.1:${control}`);
    k.iopub.connect(`tcp://127.0.0.1:${iopub}`);
    k.iopub.subscribe();
    void k.pump(k.shell);
    void k.pump(k.control);
    void k.pumpIopub();
    await k.waitReady(timeoutMs);
    return k;
  }

  private sign(parts: string[]): string {
    const h = createHmac("sha256", this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  private makeMessage(msgType: string, content: Record<string, unknown>): Message {
    return {
      header: {
        msg_id: randomUUID(),
        session: this.session,
        username: "dma-workbook",
        date: new Date().toISOString(),
        msg_type: msgType,
        version: "5.3",
      },
      parent_header: {},
      metadata: {},
      content,
    };
  }

  private async send(sock: zmq.Dealer, m: Message): Promise<void> {
    const parts = [JSON.stringify(m.header), JSON.stringify(m.parent_header), JSON.stringify(m.metadata), JSON.stringify(m.content)];
    await sock.send([DELIM, this.sign(parts), ...parts]);
  }

  private decode(frames: Buffer[]): Message | null {
    const i = frames.findIndex((f) => f.toString() === DELIM);
    if (i < 0 || frames.length < i + 6) return null;
    const parts = frames.slice(i + 2, i + 6).map((f) => f.toString());
    if (this.sign(parts) !== frames[i + 1]!.toString()) return null; // not ours, or tampered
    return {
      header: JSON.parse(parts[0]!) as Header,
      parent_header: JSON.parse(parts[1]!) as Partial<Header>,
      metadata: JSON.parse(parts[2]!) as Record<string, unknown>,
      content: JSON.parse(parts[3]!) as Record<string, unknown>,
    };
  }

  private async pump(sock: zmq.Dealer): Promise<void> {
    try {
      for await (const frames of sock) {
        const m = this.decode(frames as Buffer[]);
        const pid = m?.parent_header.msg_id;
        if (m && pid && this.pending.has(pid)) {
          const f = this.pending.get(pid)!;
          this.pending.delete(pid);
          f(m);
        }
      }
    } catch {
      // socket closed
    }
  }

  private async pumpIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        const m = this.decode(frames as Buffer[]);
        const pid = m?.parent_header.msg_id;
        if (m && pid) this.iopubHandlers.get(pid)?.(m);
      }
    } catch {
      // socket closed
    }
  }

  private request(sock: zmq.Dealer, m: Message): Promise<Message> {
    return new Promise((res, rej) => {
      this.pending.set(m.header.msg_id, res);
      this.send(sock, m).catch(rej);
    });
  }

  /** Retry kernel_info until an iopub message for it arrives: then iopub is joined and no output can be lost. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exitInfo) throw new Error(`${this.exitInfo}\n${this.stderrTail}`);
      const m = this.makeMessage("kernel_info_request", {});
      let sawIopub = false;
      this.iopubHandlers.set(m.header.msg_id, () => {
        sawIopub = true;
      });
      const reply = await Promise.race([
        this.request(this.shell, m),
        new Promise<null>((r) => setTimeout(() => r(null), 1000)),
      ]);
      if (reply) {
        const t0 = Date.now();
        while (!sawIopub && Date.now() - t0 < 500) await new Promise((r) => setTimeout(r, 20));
      }
      this.iopubHandlers.delete(m.header.msg_id);
      this.pending.delete(m.header.msg_id);
      if (reply && sawIopub) return;
    }
    throw new Error(`tslab kernel did not become ready within ${timeoutMs} ms\n${this.stderrTail}`);
  }

  /**
   * Execute one cell and collect its outputs.
   * @returns status "error" with the error text when the cell throws or fails
   * to compile; "timeout" when it runs longer than `timeoutMs`.
   */
  async execute(code: string, timeoutMs = 120_000): Promise<CellResult> {
    const m = this.makeMessage("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    const outputs: NbOutput[] = [];
    const displayIndex = new Map<string, number>();
    let idle = false;
    let reply: Message | null = null;
    const done = new Promise<void>((res) => {
      const check = () => {
        if (idle && reply) res();
      };
      this.iopubHandlers.set(m.header.msg_id, (msg) => {
        const c = msg.content;
        switch (msg.header.msg_type) {
          case "status":
            if (c["execution_state"] === "idle") {
              idle = true;
              check();
            }
            break;
          case "stream": {
            const name = c["name"] === "stderr" ? "stderr" : "stdout";
            const last = outputs[outputs.length - 1];
            if (last && last.output_type === "stream" && last.name === name) last.text += String(c["text"]);
            else outputs.push({ output_type: "stream", name, text: String(c["text"]) });
            break;
          }
          case "display_data":
          case "update_display_data": {
            const out = {
              output_type: "display_data" as const,
              data: (c["data"] ?? {}) as Record<string, unknown>,
              metadata: (c["metadata"] ?? {}) as Record<string, unknown>,
            };
            const id = (c["transient"] as { display_id?: string } | undefined)?.display_id;
            if (msg.header.msg_type === "update_display_data" && id && displayIndex.has(id)) {
              outputs[displayIndex.get(id)!] = out;
            } else {
              if (id) displayIndex.set(id, outputs.length);
              outputs.push(out);
            }
            break;
          }
          case "execute_result":
            outputs.push({
              output_type: "execute_result",
              data: (c["data"] ?? {}) as Record<string, unknown>,
              metadata: (c["metadata"] ?? {}) as Record<string, unknown>,
              execution_count: (c["execution_count"] as number | undefined) ?? null,
            });
            break;
          case "error":
            outputs.push({
              output_type: "error",
              ename: String(c["ename"] ?? "Error"),
              evalue: String(c["evalue"] ?? ""),
              traceback: (c["traceback"] as string[] | undefined) ?? [],
            });
            break;
          default:
            break;
        }
      });
      this.request(this.shell, m).then((r) => {
        reply = r;
        check();
      });
    });
    const timedOut = await Promise.race([
      done.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref()),
    ]);
    this.iopubHandlers.delete(m.header.msg_id);
    if (timedOut) {
      return { status: "timeout", executionCount: null, outputs, errorText: `cell did not finish within ${timeoutMs} ms${this.exitInfo ? ` (${this.exitInfo})` : ""}` };
    }
    const r = reply as Message | null;
    const status = r?.content["status"] === "ok" ? "ok" : "error";
    const executionCount = (r?.content["execution_count"] as number | undefined) ?? null;
    for (const o of outputs) if (o.output_type === "execute_result") o.execution_count = executionCount;
    let errorText = "";
    if (status === "error") {
      const err = outputs.find((o) => o.output_type === "error");
      const stderr = outputs
        .filter((o): o is Extract<NbOutput, { output_type: "stream" }> => o.output_type === "stream" && o.name === "stderr")
        .map((o) => o.text)
        .join("");
      const fromReply = [r?.content["ename"], r?.content["evalue"]].filter((x) => x).join(": ");
      errorText =
        (err && err.output_type === "error"
          ? (err.traceback[0]?.startsWith(err.ename) ? err.traceback : [`${err.ename}: ${err.evalue}`, ...err.traceback]).join("\n")
          : "") ||
        stderr.trim() ||
        fromReply ||
        "the cell failed without an error message";
    }
    return { status, executionCount, outputs, errorText };
  }

  /** Ask the kernel to shut down, then make sure the process is gone and sockets are closed. */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.race([
        this.request(this.control, this.makeMessage("shutdown_request", { restart: false })),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
    } catch {
      // ignore
    }
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
    this.shell.close();
    this.control.close();
    this.iopub.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
