// Who calls AWS and about what: the region and profile of a gs.yaml target, and the resources one call
// names, so that its errors can name them too.
export interface AwsContext {
  region: string;
  profile?: string;
  /** the gs.yaml target the calls serve: errors point at its settings */
  target?: string;
}

/** One call: its API and the resources it names (an error names the one it is about). */
export interface AwsCall {
  /** `service:Operation`, e.g. "ecs:DescribeServices" */
  api: string;
  cluster?: string;
  /** the ECS service name */
  service?: string;
  /** an ARN or family:revision */
  taskDefinition?: string;
  /** ECR: the registry host */
  registry?: string;
  /** ECR: `host/repository` */
  repository?: string;
  /** ECR: the image tag */
  tag?: string;
  logGroup?: string;
  logStream?: string;
  /** a Secrets Manager secret's ARN */
  secret?: string;
}
