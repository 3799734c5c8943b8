/**
 * Azure list prices the bench turns its figures into a cost per million deliveries with: pay-as-you-go, USD,
 * region East US, as recorded on PRICES_AS_OF (restated in docs/capacity.md). Prices change: re-read the
 * Azure Functions and Storage pricing pages and update this file and the docs together.
 */
export const PRICES_AS_OF = '2025-05-22';
export const PRICES_REGION = 'East US';

export const AZURE_PRICES = {
  /** Flex Consumption, on-demand execution time, per GB-second of instance memory while executing. */
  flexOnDemandPerGbSecond: 0.000026,
  /** Flex Consumption, on-demand executions, per million. */
  flexExecutionsPerMillion: 0.4,
  /** The instance memory size the deployment uses (infra/), in GB. */
  instanceMemoryGb: 2.048,
  /** Table Storage (Standard, LRS) transactions, per 10,000; an entity group transaction is one request. */
  tableTransactionsPer10k: 0.00036,
  /** Queue Storage (general-purpose v2, LRS) operations, per 10,000 (class 1 and class 2 alike). */
  queueOperationsPer10k: 0.004,
} as const;

export interface CostInputs {
  /** Runtime CPU (user + system) per delivery, ms: a lower bound of billed instance time. */
  runtimeCpuMsPerDelivery: number;
  executionsPerDelivery: number;
  tableRequestsPerDelivery: number;
  queueRequestsPerDelivery: number;
}

export interface CostPerMillion {
  compute: number;
  executions: number;
  table: number;
  queue: number;
  total: number;
}

/** USD per million deliveries, free grants ignored. */
export function costPerMillionDeliveries(inputs: CostInputs): CostPerMillion {
  const million = 1_000_000;
  const compute = (inputs.runtimeCpuMsPerDelivery / 1000) * AZURE_PRICES.instanceMemoryGb * million * AZURE_PRICES.flexOnDemandPerGbSecond;
  const executions = inputs.executionsPerDelivery * AZURE_PRICES.flexExecutionsPerMillion;
  const table = (inputs.tableRequestsPerDelivery * million * AZURE_PRICES.tableTransactionsPer10k) / 10_000;
  const queue = (inputs.queueRequestsPerDelivery * million * AZURE_PRICES.queueOperationsPer10k) / 10_000;
  return { compute, executions, table, queue, total: compute + executions + table + queue };
}
