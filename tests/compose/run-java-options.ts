/**
 * The JVM options the Apicurio Registry image starts java with, assembled from a container environment
 * the way the image assembles them. The image starts through Red Hat's UBI OpenJDK launcher
 * (/opt/jboss/container/java/run/run-java.sh), which builds the command line as
 *
 *   $JAVA_OPTS  <run-java-options>  <debug options>  <proxy options>  <java-default-options>  $JAVA_OPTS_APPEND
 *
 * where java-default-options always contributes a garbage collector: `GC_CONTAINER_OPTIONS`, or
 * `-XX:+UseParallelGC` when that is unset. A collector named in JAVA_OPTS_APPEND therefore does not
 * replace the default one, it is added to it, and HotSpot refuses to start with two collectors.
 * Only the parts this project can influence through the environment are modelled; debug and proxy
 * options stay off unless their variables are set, which compose.yaml does not do.
 */

type Env = Record<string, string | undefined>

/** java-default-options, as the UBI OpenJDK images ship it. */
export function javaDefaultOptions(env: Env): string[] {
  const options: string[] = []
  if (env.JAVA_MAX_INITIAL_MEM) options.push(`-Xms${env.JAVA_MAX_INITIAL_MEM}`)
  else if (env.JAVA_INITIAL_MEM_RATIO)
    options.push(`-XX:InitialRAMPercentage=${Math.round(Number(env.JAVA_INITIAL_MEM_RATIO))}.0`)
  const ratio = env.JAVA_MAX_MEM_RATIO
  if (ratio !== '0') options.push(`-XX:MaxRAMPercentage=${ratio ? `${Math.round(Number(ratio))}.0` : '50.0'}`)
  options.push(
    ...(env.GC_CONTAINER_OPTIONS || '-XX:+UseParallelGC').split(/\s+/),
    `-XX:MinHeapFreeRatio=${env.GC_MIN_HEAP_FREE_RATIO || 10}`,
    `-XX:MaxHeapFreeRatio=${env.GC_MAX_HEAP_FREE_RATIO || 20}`,
    `-XX:GCTimeRatio=${env.GC_TIME_RATIO || 4}`,
    `-XX:AdaptiveSizePolicyWeight=${env.GC_ADAPTIVE_SIZE_POLICY_WEIGHT || 90}`,
  )
  if (env.GC_MAX_METASPACE_SIZE) options.push(`-XX:MaxMetaspaceSize=${env.GC_MAX_METASPACE_SIZE}m`)
  if (env.GC_METASPACE_SIZE) options.push(`-XX:MetaspaceSize=${env.GC_METASPACE_SIZE}m`)
  options.push('-XX:+ExitOnOutOfMemoryError')
  return options
}

/** The whole option list run-java.sh passes to java, in its order. */
export function runJavaOptions(env: Env): string[] {
  const words = (value: string | undefined) => (value ?? '').split(/\s+/).filter(Boolean)
  return [...words(env.JAVA_OPTS), ...javaDefaultOptions(env), ...words(env.JAVA_OPTS_APPEND)].filter(Boolean)
}

/** The garbage collectors an option list selects (HotSpot accepts at most one). */
export function selectedCollectors(options: string[]): string[] {
  return options.filter((option) => /^-XX:\+Use\w*GC$/.test(option))
}
