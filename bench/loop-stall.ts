/** How long the event loop was held while some work ran, for the event-loop benches (issue 15). */

/** Longest gap between ticks of an `intervalMs` interval timer while `work` runs (after a short settle). */
export async function longestTimerGap(work: () => Promise<void>, intervalMs = 1): Promise<number> {
  let last = performance.now();
  let gap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  }, intervalMs);
  await new Promise((r) => setTimeout(r, 20));
  gap = 0;
  last = performance.now();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(gap, performance.now() - last);
}
