// One verb at a time per VM, as the driver contract asks (a start never races a destroy of the same
// VM); verbs of different VMs run side by side. Shared by the drivers that touch real hypervisors.

export class PerVmLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` once every earlier call for `id` has settled (whether it failed or not). */
  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(id) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.tails.set(id, settled);
    void settled.then(() => {
      if (this.tails.get(id) === settled) this.tails.delete(id);
    });
    return run;
  }
}
