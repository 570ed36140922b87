/**
 * Fault injection for the crash tests: `CACPQ_FAULT_PAUSE=restore.between-swaps,backup.copied`
 * makes a job stop at the named points for `CACPQ_FAULT_PAUSE_MS` (default 60 s) so that a test
 * can kill the process exactly there. Unset (always, in production) it costs one lookup.
 */
export async function faultPoint(name: string): Promise<void> {
  const points = process.env.CACPQ_FAULT_PAUSE;
  if (!points || !points.split(',').includes(name)) return;
  process.stderr.write(`fault point reached: ${name}\n`);
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.CACPQ_FAULT_PAUSE_MS ?? 60_000)));
}
