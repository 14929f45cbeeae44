export { type StackEnv, stackEnv } from './stack-env'
export { waitFor, type WaitOptions } from './wait-for'
