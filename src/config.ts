export { loadConfig, ConfigError, type LoadOptions, type GeneratedSecrets } from './config/load.js';
export {
  schema,
  SECOND_FACTORS,
  TWO_FACTOR_METHODS,
  US_CODE_METHODS,
  US_METHODS,
  type Config,
  type SecondFactor,
  type TwoFactorMethod,
  type UsMethod,
} from './config/schema.js';
export { devSecrets } from './config/dev-secrets.js';
export { parseDurationSeconds } from './config/parse.js';
export { SECRET_FILE_VARIABLES, type ReadFile } from './config/secret-files.js';
