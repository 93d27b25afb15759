/**
 * The worker service: the runtime with the built-in job types and handler modules loaded. Idempotent
 * start()/stop() (a concurrent caller gets the same promise); stop() is graceful (see Worker.stop).
 */
import type { Logger } from "pino";
import { createWorker, type Worker, type WorkerOptions } from "@taskjet/worker-runtime";
import { registerBuiltins } from "./builtins/index.js";
import { loadHandlers, registerMap, type HandlerMap } from "./loadHandlers.js";

export interface WorkerServiceOptions extends WorkerOptions {
  /** handler modules to import at start (paths relative to the working directory, URLs or packages) */
  handlerModules?: string[];
  /** handlers given in code */
  handlers?: HandlerMap;
  /** register http, sleep and console (default true) */
  builtins?: boolean;
  logger?: Logger;
}

export class WorkerService {
  /** the runtime: register more handlers or listen to its events before start() */
  readonly worker: Worker;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: WorkerServiceOptions = {}) {
    const { handlerModules: _m, handlers, builtins, ...workerOptions } = opts;
    this.worker = createWorker(workerOptions);
    if (builtins !== false) registerBuiltins(this.worker);
    if (handlers) registerMap(this.worker, handlers);
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      for (const ref of this.opts.handlerModules ?? []) {
        const types = await loadHandlers(ref, this.worker);
        this.worker.options.logger.info({ module: ref, types }, "handlers loaded");
      }
      await this.worker.start();
    })();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.starting?.catch(() => undefined);
      await this.worker.stop();
    })();
    return this.stopping;
  }
}
