import type { Logger } from '@conversa/observability';

/**
 * Liveness per gateway, not per socket: one key per gateway instance with a TTL, refreshed on a
 * timer, and the entries this gateway writes for its sockets (presence, the per-user socket
 * count) name the gateway instead of carrying an expiry each. An idle socket then costs no
 * periodic work at all. A gateway that dies stops refreshing; once its key expires
 * (PRESENCE_TTL_MS) readers ignore its entries and any other gateway's reaper removes them.
 */
export interface LivenessStore {
  readonly gatewayId: string;
  /** Sets this gateway's key with the TTL and lists it in the registry. */
  announce(ttlMs: number): Promise<void>;
  /** Pushes the key's expiry forward; false when it was gone (then sets it again). */
  refresh(ttlMs: number): Promise<boolean>;
  /** Gateways in the registry whose key is gone (not this one). */
  dead(): Promise<string[]>;
  /** Drops a dead gateway from the registry once it holds nothing (a no-op if it is alive again). */
  forget(gatewayId: string): Promise<void>;
  /** Deletes this gateway's key (a clean stop, after it released its entries). */
  retire(): Promise<void>;
}

/** Something that keeps entries per gateway: it can write this gateway's again, and remove a dead one's. */
export interface GatewayEntries {
  /** Writes this gateway's live entries again (its key had lapsed: they may have been reaped). */
  restore(): Promise<void>;
  /** Removes the entries of a gateway that is dead. */
  reapGateway(gatewayId: string): Promise<void>;
}

export interface GatewayLivenessOptions {
  store: LivenessStore;
  entries: GatewayEntries[];
  /** How long the gateway counts as alive after its last refresh, ms (PRESENCE_TTL_MS). */
  ttlMs: number;
  /** Refresh and reaper period, ms (PRESENCE_HEARTBEAT_MS); well below ttlMs. */
  heartbeatMs: number;
  logger: Logger;
  onError?: (e: unknown) => void;
}

export class GatewayLiveness {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Set when the key had lapsed, cleared once every restore succeeded (a failed one is retried). */
  private lapsed = false;

  constructor(private readonly opts: GatewayLivenessOptions) {}

  get gatewayId(): string {
    return this.opts.store.gatewayId;
  }

  /** Announces this gateway (before any entry is written), then refreshes and reaps on a timer. */
  async start(): Promise<void> {
    await this.opts.store.announce(this.opts.ttlMs);
    this.timer ??= setInterval(() => void this.tick(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Stops refreshing and deletes the key: call after the entries were released. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.opts.store.retire();
  }

  /** One period: refresh (restoring the entries if the key had lapsed), then reap dead gateways. */
  tick(): Promise<void> {
    this.running ??= this.once().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async once(): Promise<void> {
    try {
      if (!(await this.opts.store.refresh(this.opts.ttlMs))) {
        this.opts.logger.warn({ gateway: this.gatewayId }, 'gateway liveness key had lapsed; writing its entries again');
        this.lapsed = true;
      }
      if (this.lapsed) {
        for (const e of this.opts.entries) await e.restore();
        this.lapsed = false;
      }
      for (const dead of await this.opts.store.dead()) {
        for (const e of this.opts.entries) await e.reapGateway(dead);
        await this.opts.store.forget(dead);
      }
    } catch (e) {
      this.opts.onError?.(e);
      this.opts.logger.warn({ err: e }, 'gateway liveness refresh or reap failed');
    }
  }
}
