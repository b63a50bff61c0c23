/**
 * Host uids reserved for sandboxes (`base` … `base + count - 1`, used as gids too). Each run holds
 * its own from start until all its processes are gone, so no two runs, nor a run and what is left
 * of an earlier one, share a uid: signals, /proc and ptrace across runs are refused by the kernel.
 * Free uids are handed out least recently released first, so a uid rests as long as possible.
 */
export class UidPool {
  private readonly free: number[] = [];
  private readonly held = new Set<number>();
  private readonly lost = new Set<number>();

  constructor(
    readonly base: number,
    readonly count: number,
  ) {
    if (
      !Number.isInteger(base) ||
      !Number.isInteger(count) ||
      base < 1 ||
      count < 1 ||
      base + count > 2 ** 32 - 1
    ) {
      throw new RangeError(`invalid sandbox uid range ${base} + ${count}`);
    }
    for (let uid = base; uid < base + count; uid++) this.free.push(uid);
  }

  /** The last uid of the range. */
  get last(): number {
    return this.base + this.count - 1;
  }

  /** Uids currently held by runs. */
  get inUse(): number {
    return this.held.size;
  }

  /** Uids taken out of service because a run's processes could not be proven gone. */
  get retired(): number {
    return this.lost.size;
  }

  /** A free uid, or undefined when every uid is held or retired. */
  acquire(): number | undefined {
    const uid = this.free.shift();
    if (uid !== undefined) this.held.add(uid);
    return uid;
  }

  /** Returns a uid whose run has no process left. */
  release(uid: number): void {
    if (!this.held.delete(uid)) throw new Error(`uid ${uid} is not held`);
    this.free.push(uid);
  }

  /** Never hands `uid` out again: something of its run may still be alive. */
  retire(uid: number): void {
    if (!this.held.delete(uid)) throw new Error(`uid ${uid} is not held`);
    this.lost.add(uid);
  }

  contains(uid: number): boolean {
    return uid >= this.base && uid <= this.last;
  }
}
