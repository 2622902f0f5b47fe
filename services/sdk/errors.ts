// Errors a handler raises on purpose. The runtime turns them into micro error replies
// (headers Nats-Service-Error / Nats-Service-Error-Code); anything else becomes a 500.
export class ServiceError extends Error {
  override name = "ServiceError";
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (message: string): ServiceError => new ServiceError(400, message);
export const notFound = (message: string): ServiceError => new ServiceError(404, message);
export const conflict = (message: string): ServiceError => new ServiceError(409, message);
export const failedPrecondition = (message: string): ServiceError => new ServiceError(412, message);
export const unauthenticated = (message: string): ServiceError => new ServiceError(401, message);
export const unavailable = (message: string): ServiceError => new ServiceError(503, message);
export const deadlineExceeded = (message: string): ServiceError => new ServiceError(504, message);

/** A service's error reply as read back by a caller. */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof ServiceError;
}
