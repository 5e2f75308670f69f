/**
 * Keeps two syncs of one deal from running at the same time: a targeted sync holds its deal's key, a
 * full cycle holds every key. Tasks start in the order they asked, as soon as nothing they conflict
 * with is running or queued ahead of them, so a full cycle is never starved by a stream of events.
 * A database-backed worker implements the same contract with row or advisory locks.
 */
export interface DealLock {
  /** Runs `fn` while holding the locks of these deal keys. */
  withDeals<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T>;
  /** Runs `fn` while holding every deal's lock (a full sync cycle). */
  withAll<T>(fn: () => Promise<T>): Promise<T>;
}

interface Task {
  /** `undefined`: every key. */
  keys: ReadonlySet<string> | undefined;
  start: () => void;
  running: boolean;
}

function conflicts(a: Task, b: Task): boolean {
  if (!a.keys || !b.keys) return true;
  for (const k of a.keys) if (b.keys.has(k)) return true;
  return false;
}

/** {@link DealLock} for one process. */
export class InProcessDealLock implements DealLock {
  private readonly tasks: Task[] = [];

  withDeals<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    return this.run(new Set(keys), fn);
  }

  withAll<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(undefined, fn);
  }

  /** Tasks running or waiting (for tests and metrics). */
  get size(): number {
    return this.tasks.length;
  }

  private run<T>(keys: ReadonlySet<string> | undefined, fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const task: Task = {
        keys,
        running: false,
        start: () => {
          task.running = true;
          fn()
            .then(resolve, reject)
            .finally(() => {
              this.tasks.splice(this.tasks.indexOf(task), 1);
              this.pump();
            });
        },
      };
      this.tasks.push(task);
      this.pump();
    });
  }

  private pump(): void {
    for (let i = 0; i < this.tasks.length; i++) {
      const t = this.tasks[i]!;
      if (t.running) continue;
      let blocked = false;
      for (let j = 0; j < i && !blocked; j++) blocked = conflicts(this.tasks[j]!, t);
      if (!blocked) t.start();
    }
  }
}
