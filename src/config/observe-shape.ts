// The shape of the observe settings (input-observe.ts reads them): types only,
// so config-shape.ts can name them without importing the parser.

export interface ObserveSettings {
  /** --metrics-file: the textfile to write (atomically). */
  metricsFile: string | undefined;
  /** --pushgateway-url: scheme, host, port and an optional path prefix; never credentials or a query. */
  pushgatewayUrl: string | undefined;
  /** --events: record Kubernetes Events. */
  events: boolean;
  /** status --format openmetrics: print the metrics instead of the table (set by the CLI's status command). */
  statusFormat: "openmetrics" | undefined;
}
