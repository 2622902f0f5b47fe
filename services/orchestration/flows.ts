// The flows the service runs, built on a fleet caller (ctx.client.call in production). Every action
// derives its idempotency key or entity id from the run id, so retries and replays never apply twice.
import { ServiceError } from "../sdk/errors.js";
import { StepFailure, type FlowDef } from "./domain.js";

export type Caller = <T>(subject: string, request: unknown) => Promise<T>;

interface Vec3 {
  x: number;
  y: number;
  z: number;
}
interface Money {
  currency: string;
  minorUnits: string;
}
interface ErrorDetail {
  code: string;
  message: string;
}
interface PurchaseReply {
  success: boolean;
  transaction?: { transactionId: string };
  error?: ErrorDetail;
}
interface RefundReply {
  success: boolean;
  error?: ErrorDetail;
}
interface Entity {
  entityId: string;
  entityType: string;
  regionId: string;
  position?: Vec3;
  headingDeg: number;
  attributes: Record<string, string>;
}
interface EntityReply {
  found: boolean;
  entity?: Entity;
}
interface RegionReply {
  region?: { min?: Vec3; max?: Vec3 };
}

const positiveInt = (v: string | undefined) => v !== undefined && /^[1-9]\d{0,15}$/.test(v);
const money = (p: Record<string, string>): Money => ({ currency: p.currency!, minorUnits: p.price! });

function checkMoney(p: Record<string, string>): string | undefined {
  if (!positiveInt(p.price)) return `price must be a positive whole number of minor units, got "${p.price}"`;
  if (!/^[A-Z][A-Z0-9]{1,9}$/.test(p.currency ?? ""))
    return `currency must be a code like USD or GOLD, got "${p.currency}"`;
  return undefined;
}

/** The player's inventory region unless the params name another. */
export const inventoryRegion = (p: Record<string, string>) => p.regionId || `inventory-${p.playerId}`;

export function fleetFlows(call: Caller): FlowDef[] {
  const purchaseItem: FlowDef = {
    name: "purchase-item",
    description:
      "Charge the player's wallet for an item, then grant the item into their inventory region; refund if the grant fails.",
    requiredParams: ["playerId", "sku", "currency", "price"],
    validate: (p) =>
      checkMoney(p) ??
      (p.quantity !== undefined && !(positiveInt(p.quantity) && Number(p.quantity) <= 1000)
        ? `quantity must be 1..1000, got "${p.quantity}"`
        : undefined),
    steps: [
      {
        name: "charge",
        action: "payment.purchase",
        compensation: "payment.refund",
        description: "Debit the price from the player's wallet",
        async run({ runId, params: p }) {
          const r = await call<PurchaseReply>("payment.purchase", {
            playerId: p.playerId,
            sku: p.sku,
            quantity: Number(p.quantity ?? 1),
            price: money(p),
            idempotencyKey: `${runId}-charge`,
            reason: "orchestration purchase-item",
          });
          if (!r.success)
            throw new StepFailure(r.error?.code || "PURCHASE_REJECTED", r.error?.message || "purchase rejected");
          return r;
        },
        async compensate({ runId }, output) {
          const r = await call<RefundReply>("payment.refund", {
            transactionId: (output as PurchaseReply).transaction?.transactionId ?? "",
            idempotencyKey: `${runId}-refund`,
            reason: "orchestration purchase-item compensation",
          });
          if (!r.success)
            throw new StepFailure(r.error?.code || "REFUND_REJECTED", r.error?.message || "refund rejected");
        },
      },
      {
        name: "grant",
        action: "world-state.spawn-entity",
        compensation: "world-state.despawn-entity",
        description: "Spawn the item in the player's inventory region",
        async run({ runId, params: p }) {
          const regionId = inventoryRegion(p);
          const entityId = `item-${runId}`;
          const { region } = await call<RegionReply>("world-state.query-region", { regionId, limit: 1 });
          const min = region?.min ?? { x: 0, y: 0, z: 0 };
          const max = region?.max ?? min;
          const position = { x: (min.x + max.x) / 2, y: (min.y + max.y) / 2, z: (min.z + max.z) / 2 };
          const attributes = { sku: p.sku!, ownerId: p.playerId!, quantity: p.quantity ?? "1", runId };
          try {
            return await call("world-state.spawn-entity", {
              entityId,
              entityType: "item",
              regionId,
              position,
              attributes,
            });
          } catch (err) {
            // a retried spawn whose first attempt landed: the entity is ours
            if (!(err instanceof ServiceError && err.code === 409)) throw err;
            const got = await call<EntityReply>("world-state.get-entity", { entityId });
            if (got.entity?.attributes.runId !== runId) throw err;
            return { entity: got.entity };
          }
        },
        async compensate({ runId }) {
          await call("world-state.despawn-entity", { entityId: `item-${runId}`, reason: "purchase compensated" });
        },
      },
    ],
  };

  const sellItem: FlowDef = {
    name: "sell-item",
    description:
      "Take an item the player owns out of the world, then credit its price to their wallet; put the item back if the credit fails.",
    requiredParams: ["playerId", "entityId", "currency", "price"],
    validate: checkMoney,
    steps: [
      {
        name: "take-item",
        action: "world-state.despawn-entity",
        compensation: "world-state.spawn-entity",
        description: "Check ownership and remove the item",
        async run({ params: p }) {
          const got = await call<EntityReply>("world-state.get-entity", { entityId: p.entityId });
          if (!got.found || !got.entity) throw new StepFailure("NOT_FOUND", `no entity ${p.entityId}`);
          if (got.entity.attributes.ownerId !== p.playerId)
            throw new StepFailure("NOT_OWNER", `${p.entityId} does not belong to ${p.playerId}`);
          return call("world-state.despawn-entity", { entityId: p.entityId, reason: "sold" });
        },
        async compensate(_sc, output) {
          const e = (output as { entity: Entity }).entity;
          try {
            await call("world-state.spawn-entity", {
              entityId: e.entityId,
              entityType: e.entityType,
              regionId: e.regionId,
              position: e.position,
              headingDeg: e.headingDeg,
              attributes: e.attributes,
            });
          } catch (err) {
            // a retried respawn whose first attempt landed
            if (!(err instanceof ServiceError && err.code === 409)) throw err;
          }
        },
      },
      {
        name: "credit",
        action: "payment.deposit",
        compensation: "",
        description: "Credit the sale price to the player's wallet",
        async run({ runId, params: p }) {
          return call("payment.deposit", {
            playerId: p.playerId,
            amount: money(p),
            idempotencyKey: `${runId}-credit`,
            reason: "item_sale",
          });
        },
      },
    ],
  };

  return [purchaseItem, sellItem];
}
