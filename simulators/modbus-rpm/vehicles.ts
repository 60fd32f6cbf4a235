/**
 * The vehicles the Modbus RPM simulator is asked for (SPEC §2): a {@link VehicleRequest} — a
 * vehicle type, a source kind and strength, a speed, all optional — drawn as a physics scene on
 * the simulator's single summed portal (simulators/physics). Kept apart from the device model
 * (register-model.ts), which only runs the scene it is given: how a request becomes a scene is
 * physics, not register behaviour. Draws from the model's generator, in the model's order.
 */
import { summedPortal } from '../physics/portal.js';
import type { Scene } from '../physics/profile.js';
import type { Rng } from '../physics/rng.js';
import { drawMedical, drawNeutron, drawNorm, drawThreat, type Source } from '../physics/sources.js';
import { drawMotion, drawVehicle, makeMotion, type VehicleType } from '../physics/vehicle.js';

export type SourceKind = 'none' | 'threat' | 'medical' | 'norm' | 'neutron';

export interface VehicleRequest {
  readonly type?: VehicleType;
  readonly source?: SourceKind;
  /** Scale the drawn source strengths (e.g. 10 for a certain alarm). Default 1. */
  readonly strengthFactor?: number;
  /** Constant speed through the portal (m/s); default drawn 1–4 m/s ±20 %. */
  readonly speedMps?: number;
  /** A complete scene (e.g. from physics/scenario.ts); overrides the fields above. */
  readonly scene?: Scene;
}

/** The scene of `request` (its own `scene` aside), over the lane's background levels (cps, summed). */
export function drawScene(
  rng: Rng,
  request: VehicleRequest,
  gammaBackgroundCps: number,
  neutronBackgroundCps: number,
): Scene {
  const portal = summedPortal();
  const type = request.type ?? (request.source === 'norm' || request.source === 'threat' ? 'truck' : 'car');
  const vehicle = drawVehicle(rng, type);
  const motion =
    request.speedMps !== undefined
      ? makeMotion(vehicle.lengthM, request.speedMps, request.speedMps, portal.sensorOffsetM)
      : drawMotion(rng, vehicle, portal.sensorOffsetM);
  const factor = request.strengthFactor ?? 1;
  const scale = (s: Source): Source =>
    s.shape === 'point'
      ? { ...s, strength: s.strength * factor }
      : { ...s, strengthPerM: s.strengthPerM * factor };
  let sources: Source[] = [];
  switch (request.source ?? 'none') {
    case 'none':
      break;
    case 'threat':
      sources = [drawThreat(rng, vehicle)];
      break;
    case 'medical':
      sources = [drawMedical(rng, vehicle, portal)];
      break;
    case 'norm':
      sources = [drawNorm(rng, vehicle)];
      break;
    case 'neutron':
      sources = drawNeutron(rng, vehicle);
      break;
  }
  return {
    portal,
    vehicle,
    motion,
    sources: sources.map(scale),
    shadowing: type === 'truck' ? rng.uniform(0.05, 0.2) : rng.uniform(0, 0.05),
    cabShadowing: rng.uniform(0, 0.05),
    gammaBackgroundCps: [gammaBackgroundCps],
    neutronBackgroundCps: [neutronBackgroundCps],
  };
}
