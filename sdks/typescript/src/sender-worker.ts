// Entry of Node's sender thread (started by sender-thread.ts): one Sender per client, each
// delivering the batches it is handed, in order, from the shared pages.

import { parentPort } from "node:worker_threads";
import { Batch } from "./item-queue.js";
import { nodePlatform } from "./platform-node.js";
import { Sender, type DeliveryCounters, type SenderConfig } from "./sender.js";
import type { CounterDeltas, FromThread, ThreadNews, ToThread } from "./sender-thread.js";

// (null where this module is loaded outside a worker, as a bundler may: then it does nothing)
const port = parentPort;
const platform = nodePlatform();

interface Client {
  sender: Sender;
  /** What grew since the last message about this client (sent with the next one). */
  counters: DeliveryCounters;
}

const clients = new Map<number, Client>();

function post(c: number, client: Client, news: ThreadNews): void {
  const d: CounterDeltas = { ...client.counters };
  const message: FromThread = { ...news, c, d };
  port?.postMessage(message);
  client.counters.sent = client.counters.rejected = client.counters.failed = client.counters.retries = client.counters.requests = 0;
}

function open(c: number, config: SenderConfig): void {
  const counters: DeliveryCounters = { sent: 0, rejected: 0, failed: 0, retries: 0, requests: 0 };
  const client: Client = {
    counters,
    sender: new Sender(config, {
      platform,
      fetch: undefined,
      counters,
      report: (e) => {
        const report = { t: "report" as const, code: e.code, message: e.message, count: e.count, status: e.status, details: e.details };
        try {
          post(c, client, report);
        } catch {
          // details the structured clone cannot copy: the report without them
          post(c, client, { ...report, details: undefined });
        }
      },
      keepalive: () => false,
      yieldTurns: false, // this thread holds no one's event loop
      onSleep: (on) => post(c, client, { t: "sleep", on }),
    }),
  };
  clients.set(c, client);
}

port?.on("message", (m: ToThread) => {
  switch (m.t) {
    case "open":
      open(m.c, m.config);
      break;
    case "batch": {
      const client = clients.get(m.c);
      if (client === undefined) break;
      void client.sender.deliver(Batch.of(m.batch)).then(() => post(m.c, client, { t: "done" }));
      break;
    }
    case "stop":
      clients.get(m.c)?.sender.stop();
      clients.delete(m.c);
      break;
  }
});
