/** A mistake in how the command was called: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Exit codes: 0 done, 1 the run failed, 2 the command was called wrongly, 130/143 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

const SYSTEM_ERRORS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EEXIST: 'it already exists',
  ENOENT: 'no such file or folder',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the filesystem is read-only',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
  ELOOP: 'too many symbolic links (a link loop?)',
  EXDEV: 'the staging folder and the target are on different filesystems',
  EBUSY: 'the file is busy',
  EIO: 'an input/output error from the disk',
};

/**
 * What to print for an error that reached the CLI, and the exit code. Errors the project raises carry
 * their own message; Node's system errors and the engine's raw RangeErrors are turned into a sentence
 * that names the path and what to do, never a bare code or stack.
 */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof UsageError) return { message: err.message, exitCode: EXIT.usage };
  if (!(err instanceof Error)) return { message: `failed: ${String(err)}`, exitCode: EXIT.failed };
  const sys = err as NodeJS.ErrnoException & { dest?: string };
  if (typeof sys.code === 'string' && sys.code in SYSTEM_ERRORS) {
    const where = sys.path ? ` "${sys.path}"${sys.dest ? ` -> "${sys.dest}"` : ''}` : '';
    const verb = sys.syscall ? `cannot ${sys.syscall}` : 'file error';
    return {
      message: `${verb}${where}: ${SYSTEM_ERRORS[sys.code]}; check the path and its permissions, or choose another output folder`,
      exitCode: EXIT.failed,
    };
  }
  if (err instanceof RangeError) {
    if (/typed array length|Array buffer allocation failed|array length|allocation failed/i.test(err.message)) {
      return {
        message: `out of memory: an input asks for more memory than this machine can give (${err.message}); use smaller inputs or a smaller batch`,
        exitCode: EXIT.failed,
      };
    }
    if (/call stack/i.test(err.message)) {
      return { message: `an input is nested too deeply to process (${err.message}); check the input files`, exitCode: EXIT.failed };
    }
  }
  if (err instanceof SyntaxError) {
    return { message: `an input holds invalid JSON (${err.message}); check the input files`, exitCode: EXIT.failed };
  }
  // JavaScript's own errors here mean a bug in LayerTracer, not in the input: say so, with the trace.
  if (err instanceof TypeError || err instanceof ReferenceError || err instanceof RangeError) {
    return { message: `internal error, please report it with this trace:\n${err.stack ?? err.message}`, exitCode: EXIT.failed };
  }
  // The project's errors (WeightsError, SafetensorsError, ImageDecodeError, GpuError, ...) say what to do.
  return { message: err.message, exitCode: EXIT.failed };
}
