/** @taskjet/gateway: the REST gateway over the client (jobs CRUD, operations, actions, metrics). */
export { GatewayService, type GatewayServiceOptions, type GatewayAddress } from "./GatewayService.js";
export {
  gatewayConfigFromEnv,
  resolveGatewaySettings,
  DEFAULT_GATEWAY_PORT,
  type GatewayConfig,
  type GatewaySettings,
  type GatewaySettingsInput,
} from "./config.js";
export { buildApp, type AppOptions } from "./app.js";
export { httpStatusOf, errorBody, type HttpErrorBody } from "./httpErrors.js";
export { openApiDocument } from "./openapi.js";
