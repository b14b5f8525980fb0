import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Load-aware start: eight agents that build and test at once can freeze a laptop. A step whose
 * turn has come starts only while the machine has memory to spare and its CPUs are not
 * overloaded, unless no other step of its run is going (a run never stalls on its own load).
 */

/** What holds a step back: too little free memory, or too much load. */
export type LoadWait = 'memory' | 'cpu';

export interface LoadLimits {
  /** The memory that must stay available, in MiB; 0: no limit. */
  readonly minFreeMemoryMb: number;
  /** The 1-minute load average per CPU above which no further step starts; 0: no limit. */
  readonly maxLoadPerCpu: number;
}

/** What the machine says now. */
export interface MachineLoad {
  readonly availableMb: number;
  readonly loadPerCpu: number;
}

/** Defaults that only hold back a step on a machine in real distress. */
export const DEFAULT_LOAD_LIMITS: LoadLimits = { minFreeMemoryMb: 512, maxLoadPerCpu: 4 };

/** Memory available to a new process (Linux `MemAvailable`, which counts reclaimable caches) and load per CPU. */
export function machineLoad(): MachineLoad {
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return { availableMb: availableMemory() / (1024 * 1024), loadPerCpu: os.loadavg()[0] / Math.max(1, cpus) };
}

/** Why a step may not start now, or undefined. */
export function loadWait(limits: LoadLimits, load: MachineLoad = machineLoad()): LoadWait | undefined {
  if (limits.minFreeMemoryMb > 0 && load.availableMb < limits.minFreeMemoryMb) return 'memory';
  if (limits.maxLoadPerCpu > 0 && load.loadPerCpu > limits.maxLoadPerCpu) return 'cpu';
  return undefined;
}

/** The words the tree and the CLI show for a waiting step. */
export function waitingWords(wait: LoadWait | 'worker'): string {
  return wait === 'memory' ? 'waiting for memory' : wait === 'cpu' ? 'waiting for CPU' : 'waiting for a worker';
}

function availableMemory(): number {
  if (process.platform === 'linux') {
    try {
      const match = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
      if (match) return Number(match[1]) * 1024;
    } catch {
      // Fall back to Node's figure.
    }
  }
  return os.freemem();
}

/**
 * The load gate of one run: how many of its steps (and candidates) are past it and not yet ended,
 * and the wait of the next one (see `waitForRoom`).
 */
export class Admission {
  private going = 0;

  constructor(
    private readonly limits: LoadLimits,
    private readonly onWait: (stepId: string, wait: LoadWait) => void,
  ) {}

  /** Lets `stepId` in once there is room; false, letting nothing in, when `signal` is aborted first. */
  admit(stepId: string, signal: AbortSignal): Promise<boolean> {
    const room = { going: () => this.going, admit: () => (this.going += 1) };
    return waitForRoom(this.limits, room, (wait) => this.onWait(stepId, wait), signal);
  }

  /** An admitted step has ended. */
  release(): void {
    this.going -= 1;
  }
}

/** The steps of a run that are going: counted, and one more let in. */
export interface Room {
  readonly going: () => number;
  readonly admit: () => void;
}

/**
 * Waits until a step may start, and lets it in (in the same turn as the last look, so that steps
 * whose turns come together are counted one by one): at once when the limits allow it or no other
 * step of its run is going; else it polls every `intervalMs`, saying each new reason to wait.
 * Returns false, letting nothing in, when `signal` is aborted (the step is cancelled).
 */
export async function waitForRoom(
  limits: LoadLimits,
  room: Room,
  onWait: (wait: LoadWait) => void,
  signal: AbortSignal,
  intervalMs = 500,
): Promise<boolean> {
  let said: LoadWait | undefined;
  for (;;) {
    if (signal.aborted) return false;
    const wait = room.going() === 0 ? undefined : loadWait(limits);
    if (wait === undefined) {
      room.admit();
      return true;
    }
    if (wait !== said) onWait((said = wait));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, intervalMs);
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
}
