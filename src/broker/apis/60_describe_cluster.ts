/** DescribeCluster (key 60), versions 0-2. v1 endpoint type; v2 fenced brokers. */
import type { DescribeClusterRequest, DescribeClusterResponse } from "../../protocol/generated/60_describe_cluster.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import { AUTHORIZED_OPERATIONS_NOT_REQUESTED, CLUSTER_AUTHORIZED_OPERATIONS } from "../authorized-operations.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { Broker } from "../broker.ts";

/** Endpoint type asked for: brokers (1) or controllers (2). */
const ENDPOINT_BROKER = 1;
/** DescribeCluster endpoint type of controllers (KIP-919). */
const ENDPOINT_CONTROLLER = 2;

/** Builds the DescribeCluster handler. */
export function describeClusterHandler(b: Broker): ApiHandler<DescribeClusterRequest, DescribeClusterResponse> {
  return {
    apiKey: 60,
    minVersion: 0,
    maxVersion: 2,
    handle(ctx, req) {
      const endpointType = req.endpointType ?? ENDPOINT_BROKER;
      if (endpointType !== ENDPOINT_BROKER) {
        return {
          throttleTimeMs: 0,
          // As Kafka: asking a broker listener for controllers is the wrong endpoint type; other values are unknown.
          errorCode: endpointType === ENDPOINT_CONTROLLER ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
          errorMessage: "Only broker endpoints are served here.",
          endpointType,
          clusterId: b.clusterId,
          controllerId: -1,
          brokers: [],
          clusterAuthorizedOperations: AUTHORIZED_OPERATIONS_NOT_REQUESTED,
        };
      }
      return {
        throttleTimeMs: 0,
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        endpointType,
        clusterId: b.clusterId,
        controllerId: b.controllerId,
        brokers: b.clusterBrokers(ctx.session?.listenerName).map((x) => ({ brokerId: x.nodeId, host: x.host, port: x.port, rack: x.rack, isFenced: false })),
        clusterAuthorizedOperations: req.includeClusterAuthorizedOperations ? CLUSTER_AUTHORIZED_OPERATIONS : AUTHORIZED_OPERATIONS_NOT_REQUESTED,
      };
    },
  };
}
