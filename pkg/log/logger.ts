// JSON logs through winston. One logger is made in cmd/main.ts and passed down; parts add context with child().
import winston from 'winston';
import { BatchedLineTransport } from './batched-lines.js';

export type Logger = winston.Logger;
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export interface LoggerOptions {
  readonly level: LogLevel;
  /**
   * Defaults to stderr, so stdout stays free for command output; lines go there in batches, at most one write per
   * 100 ms (batched-lines.ts). A given stream gets each line as it is made.
   */
  readonly stream?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return winston.createLogger({
    level: options.level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), toJsonLine()),
    transports: [
      options.stream
        ? new BatchedLineTransport(options.stream, { batch: false })
        : new BatchedLineTransport(process.stderr, { batch: true }),
    ],
  });
}

/** Writes the lines a logger of createLogger (or a child of one) still holds; for just before the process exits. */
export function flushLogger(log: Logger): void {
  for (const t of log.transports) if (t instanceof BatchedLineTransport) t.flush();
}

/** Where winston's formats leave the finished line (triple-beam's MESSAGE). */
const MESSAGE = Symbol.for('message');

/**
 * One JSON line per entry, by JSON.stringify: winston's json format configures safe-stable-stringify and sorts keys
 * on every line, which made the admission's line a third of a warm admission's cost. It remains the fallback for
 * what JSON.stringify refuses (a cycle, a BigInt).
 */
function toJsonLine(): winston.Logform.Format {
  const fallback = winston.format.json();
  return winston.format((info) => {
    try {
      (info as unknown as Record<symbol, string>)[MESSAGE] = JSON.stringify(info);
      return info;
    } catch {
      return fallback.transform(info, fallback.options);
    }
  })();
}

/** A logger that drops everything, for tests and tools that must stay quiet. */
export function createSilentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}

/** The fields to log for an error: its message and code, never the object itself. */
export function errorFields(e: unknown): { error: string; code?: string | number } {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number' ? { error: e.message, code } : { error: e.message };
  }
  return { error: String(e) };
}
