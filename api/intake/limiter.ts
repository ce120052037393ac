/** Runs at most `n` of the calls given to it at once, the rest in the order they came. */
export function limiter(n: number): <T>(call: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (call) => {
    if (running >= Math.max(1, n)) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await call();
    } finally {
      // The slot passes straight to the next call, so `running` never drops below what runs.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
