/**
 * Secrets from files, as Docker and Kubernetes mount them: `<NAME>_FILE`
 * names a file whose content is the value of `<NAME>` (README, Configuration).
 * The entry points inject the reader; this module only decides what to read.
 */

/** The variables that hold secrets, and so may come from a file instead. */
export const SECRET_FILE_VARIABLES = [
  'SECRET_KEY',
  'SECURITY_TOTP_SECRETS',
  'SENDGRID_API_KEY',
  'SECURITY_SMS_SERVICE_CONFIG',
  'WEBHOOK_SECRET',
  'ADMIN_TOKENS',
] as const;

export type ReadFile = (path: string) => string;

export interface SecretFiles {
  /** The environment with each `<NAME>` filled in from its `<NAME>_FILE`. */
  env: Record<string, string | undefined>;
  /** The names whose value came from a file (for problem messages). */
  fromFile: Set<string>;
  problems: string[];
}

const set = (value: string | undefined): value is string => value !== undefined && value !== '';

export function readSecretFiles(env: Record<string, string | undefined>, readFile?: ReadFile): SecretFiles {
  const out = { ...env };
  const fromFile = new Set<string>();
  const problems: string[] = [];
  for (const name of SECRET_FILE_VARIABLES) {
    const fileVar = `${name}_FILE`;
    const path = env[fileVar];
    if (!set(path)) continue;
    if (set(env[name])) {
      // Two sources for one secret: whichever won, the other would be silently ignored.
      problems.push(`${name} and ${fileVar} are both set: set one of them`);
      continue;
    }
    if (!readFile) {
      problems.push(`${fileVar} is set but this program cannot read secret files`);
      continue;
    }
    let content: string;
    try {
      content = readFile(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      problems.push(`${fileVar}: cannot read ${path} (${reason})`);
      continue;
    }
    // `echo secret > file` and most secret stores end the file with a line break; it is not part of the value.
    const value = content.replace(/\r?\n$/, '');
    if (value === '') {
      problems.push(`${fileVar}: ${path} is empty`);
      continue;
    }
    out[name] = value;
    fromFile.add(name);
  }
  return { env: out, fromFile, problems };
}
