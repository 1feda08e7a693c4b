// Preloaded into the tslab kernel by kernel.json (`node --require`): report a
// cell's thrown error as a proper Jupyter error (an iopub `error` message and
// ename/evalue/traceback in the execute_reply) instead of tslab's default, a
// Node stack dump on stderr with an empty error reply.
//
// - ModelConfigError (lib/core/errors.ts) and KernelOops are the model's own
//   errors: shown as one line, `ModelConfigError: <field>: got <value>,
//   expected <allowed>` (KernelOops keeps its call trace), no JS stack.
// - Any other thrown error: `Name: message`, then its stack frames from cell
//   and lib code (tslab's and Node's internal frames dropped).
// - A cell that does not compile: the error output (ename "TSError") lists
//   tslab's diagnostics, "line:column - message", instead of stderr.
//
// tslab 1.0.22 internals used (pinned exactly in package.json):
// dist/executor.js `createExecutor(rootDir, convs, console)` reports a thrown
// value with `console.error(e)` and compile errors with
// `console.error("%s%d:%d - %s", ...)`; dist/jupyter.js `ZmqServer`
// `handleExecute(sock, msg)` sends the execute_reply. If they change, this
// module leaves tslab as it is and says so on stderr once.
"use strict";
const path = require("node:path");
const util = require("node:util");

const MODEL_ERRORS = new Set(["ModelConfigError", "KernelOops"]);

function tslabFile(rel) {
  // Resolve tslab from the repository (this file is jupyter/kernels/tslab/).
  const root = path.resolve(__dirname, "..", "..", "..");
  return require.resolve(`tslab/dist/${rel}`, { paths: [root] });
}

function isErrorLike(e) {
  return e !== null && typeof e === "object" && typeof e.message === "string" && typeof e.name === "string";
}

/** The Jupyter error fields for a thrown value. */
function describeThrown(e) {
  if (!isErrorLike(e)) {
    const text = util.inspect(e);
    return { ename: "Error", evalue: `a cell threw a non-Error value: ${text}`, traceback: [`Error: a cell threw a non-Error value: ${text}`] };
  }
  const ename = e.name || "Error";
  const evalue = e.message;
  if (MODEL_ERRORS.has(ename)) return { ename, evalue, traceback: [`${ename}: ${evalue}`] };
  const frames = String(e.stack || "")
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .filter((l) => !/node:internal|[\\/]tslab[\\/]dist[\\/]|[\\/]node_modules[\\/]tslab[\\/]/.test(l));
  return { ename, evalue, traceback: [`${ename}: ${evalue}`, ...frames] };
}

function install() {
  const executorMod = require(tslabFile("executor.js"));
  const jupyterMod = require(tslabFile("jupyter.js"));
  const origCreate = executorMod.createExecutor;
  const origHandle = jupyterMod.ZmqServer && jupyterMod.ZmqServer.prototype.handleExecute;
  if (typeof origCreate !== "function" || typeof origHandle !== "function") {
    process.stderr.write("model-errors.cjs: tslab internals changed; errors are reported as tslab does\n");
    return;
  }
  // What the executor reported during the current execute_request.
  let current = null;

  executorMod.createExecutor = function (rootDir, convs, con) {
    const reporting = {
      log: con.log,
      error(...args) {
        if (current && args.length === 1 && !current.thrown) {
          current.thrown = { value: args[0] };
          return; // reported as the cell's error output instead
        }
        if (current && typeof args[0] === "string" && args[0].startsWith("%s%d:%d")) {
          current.diagnostics.push(util.format(...args));
          return; // shown once, in the cell's error output
        }
        return con.error(...args);
      },
    };
    return origCreate.call(this, rootDir, convs, reporting);
  };

  jupyterMod.ZmqServer.prototype.handleExecute = async function (sock, msg) {
    const server = this;
    current = { thrown: null, diagnostics: [] };
    const seen = current;
    // Wrap the socket send of the execute_reply: add the error fields and
    // publish the iopub error message first, so it precedes "idle".
    const origCreateReply = msg.createReply;
    msg.createReply = function () {
      const rep = origCreateReply.apply(this, arguments);
      const origSend = rep.signAndSend;
      rep.signAndSend = function (key, s) {
        if (s === sock && rep.header.msg_type === "execute_reply" && rep.content && rep.content.status === "error") {
          let err = null;
          if (seen.thrown) err = describeThrown(seen.thrown.value);
          else if (seen.diagnostics.length) {
            err = { ename: "TSError", evalue: seen.diagnostics.join("\n"), traceback: ["TSError: the cell does not compile", ...seen.diagnostics] };
          }
          if (err) {
            Object.assign(rep.content, err);
            const pub = origCreateReply.call(msg);
            pub.header.msg_type = "error";
            pub.content = err;
            pub.signAndSend(server.connInfo.key, server.iopub);
          }
        }
        return origSend.apply(this, arguments);
      };
      return rep;
    };
    try {
      return await origHandle.call(this, sock, msg);
    } finally {
      msg.createReply = origCreateReply;
      if (current === seen) current = null;
    }
  };
}

try {
  install();
} catch (e) {
  process.stderr.write(`model-errors.cjs: not installed (${e && e.message}); errors are reported as tslab does\n`);
}

module.exports = { describeThrown };
