/** A new run's id: the pipeline's name, the start time to the second, and the process id. */
export function newRunId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${name}-${t}-${process.pid.toString(36)}`;
}
