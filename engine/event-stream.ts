// A single-consumer async queue: the engine pushes TokenEvents, the server iterates. Leaving the loop early
// (break, return, throw) calls onCancel, which aborts the request.

export class EventStream<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiter: { resolve(r: IteratorResult<T>): void; reject(e: unknown): void } | null = null;
  private ended = false;
  private failure: unknown = null;
  private consumed = false;

  constructor(private readonly onCancel: () => void) {}

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: item, done: false });
    } else {
      this.buffered.push(item);
    }
  }

  /** Ends the stream; with an error, the consumer's next read throws it (after buffered items). */
  end(error: unknown = null): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      if (error !== null) w.reject(error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.consumed) throw new Error('an EventStream can be iterated once');
    this.consumed = true;
    return {
      next: () => {
        const item = this.buffered.shift();
        if (item !== undefined) return Promise.resolve({ value: item, done: false });
        if (this.ended)
          return this.failure !== null
            ? Promise.reject(this.failure)
            : Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      return: () => {
        if (!this.ended) {
          this.end();
          this.onCancel();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
