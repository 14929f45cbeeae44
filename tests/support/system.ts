/**
 * The system runner (infra/system) as the tests use it: each `startSystem` without `databases` gets a
 * fresh pair of databases, dropped on stop, and its consumer groups start at the end of their topics.
 */
export {
  DEFAULT_PORTS,
  repoRoot,
  SERVICES,
  type ServiceName,
  type System,
  type SystemOptions,
  startSystem,
} from '../../infra/system/system'
